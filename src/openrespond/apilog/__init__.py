"""The workspace's API request log: every ``/v2`` request, with the bodies of failed ones."""
