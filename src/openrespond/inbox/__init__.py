"""What the browser inbox reads: the conversation list, a contact's timeline, read markers."""
