"""Conversations (open, close, assignee) and internal comments."""
