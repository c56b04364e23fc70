"""Contacts: create, read, update, delete, list with filters, merge, lifecycle, tags."""
