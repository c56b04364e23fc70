"""The browser app under ``/app``: sign-in, the inbox, live updates (server-rendered)."""
