-- The browser inbox: passwords, sign-in links and sessions of workspace users, sign-in
-- throttling, what each user has read, and the live feed of changes.

-- A user's password (Argon2id, argon2-cffi's encoded form); NULL until the user sets one
-- from an invitation link. A deactivated user cannot sign in and has no sessions.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;

-- One-time links: an invitation or password reset (set a password, then signed in), or a
-- sign-in link (the demo's). Only a SHA-256 of the token is kept.
CREATE TABLE user_links (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'reset', 'signin')),
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX user_links_user ON user_links(user_id);

-- A signed-in browser. `users` holds the ids of the workspace users whose password the person
-- gave (one email may be a user of several workspaces); only a SHA-256 of the cookie's token
-- is kept. Idle expiry moves with `seen_at`; `expires_at` is absolute.
CREATE TABLE web_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL UNIQUE,
  csrf TEXT NOT NULL,
  users TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);

-- Failed sign-ins, by account (`email:<address>`) and by client (`client:<address>`).
CREATE TABLE sign_in_failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bucket TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_bucket ON sign_in_failures(bucket, at_ms);

-- The newest message of each contact and its newest incoming one: the inbox orders by the
-- first and marks unread by the second.
-- 0 when there is none.
ALTER TABLE contacts ADD COLUMN last_message_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN last_incoming_id INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET
  last_message_id = COALESCE((SELECT max(m.id) FROM messages m WHERE m.contact_id = contacts.id), 0),
  last_incoming_id = COALESCE((
    SELECT max(m.id) FROM messages m WHERE m.contact_id = contacts.id AND m.traffic = 'incoming'
  ), 0);
CREATE INDEX contacts_inbox ON contacts(workspace_id, status, last_message_id, id);

-- The newest message of a contact each user has seen.
CREATE TABLE message_reads (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, contact_id)
);
CREATE INDEX message_reads_contact ON message_reads(contact_id);

-- What changed, for the open inboxes: written in the transaction of the change (so only what
-- committed is shown), kept for a short while. `kind` is an event type of the outbox or one
-- the webhooks lack (message.status).
CREATE TABLE live_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  contact_id INTEGER,
  created_ms INTEGER NOT NULL
);
CREATE INDEX live_changes_created ON live_changes(created_ms);

-- Who wrote a comment in the app (NULL: through the API).
ALTER TABLE comments ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
