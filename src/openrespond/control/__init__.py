"""The control API: what respond.io leaves to its web app (workspaces, tokens, users, ...)."""
