"""Messages: send, read and list a contact's messages."""
