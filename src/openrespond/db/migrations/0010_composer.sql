-- The composer: canned replies, and files attached to outgoing messages.

-- A reply typed with "/" and its short code; managed by owners and managers.
CREATE TABLE canned_replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  short_code TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (workspace_id, short_code)
);

-- A file uploaded from the composer, stored here and served at /files/{token}/{name} so
-- that the channel can fetch it (the token, 256 random bits, is the only key). Deleted with
-- its contact.
CREATE TABLE files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  token TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX files_contact ON files(contact_id);
