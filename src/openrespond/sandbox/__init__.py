"""Sandbox actions for testing integrations: incoming messages, statuses, resets."""
