"""People signing in to the browser app: passwords, one-time links, sessions, throttling."""
