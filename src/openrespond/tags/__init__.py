"""Workspace tags, and tagging contacts."""
