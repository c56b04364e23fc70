"""The workspace ("space"): users, channels, templates, lifecycle stages, closing notes."""
