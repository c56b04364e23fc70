-- Messages, their delivery jobs, conversations and comments.

-- One row per message in or out. `content` is the message object of the API as sent or
-- received; `statuses` its full status history, a JSON array of {value, timestamp, message?}.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  traffic TEXT NOT NULL CHECK (traffic IN ('incoming', 'outgoing')),
  type TEXT NOT NULL,
  content TEXT NOT NULL,
  channel_message_id TEXT,
  status TEXT,
  statuses TEXT NOT NULL DEFAULT '[]',
  sender_source TEXT,
  sender_user_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX messages_contact ON messages(workspace_id, contact_id, id);
-- Also serves the channel foreign key (deleting a channel finds its messages here).
CREATE UNIQUE INDEX messages_channel_message ON messages(channel_id, channel_message_id);

-- Outgoing messages waiting for their driver. A worker claims a job by taking its lease
-- (lease_owner, lease_until); a job whose lease ran out is claimed again.
CREATE TABLE delivery_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
  attempts INTEGER NOT NULL DEFAULT 0,
  run_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  last_error TEXT,
  queued_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX delivery_jobs_due ON delivery_jobs(run_at, id);

-- What sandbox channels delivered: one row per message, at most once.
CREATE TABLE sandbox_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL,
  address TEXT NOT NULL,
  content TEXT NOT NULL,
  worker TEXT NOT NULL,
  queued_ms INTEGER NOT NULL,
  delivered_ms INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL
);
CREATE INDEX sandbox_deliveries_channel ON sandbox_deliveries(workspace_id, channel_id, id);

-- Conversation history: one row per opened conversation; closed_at is NULL while it is open.
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  opened_at INTEGER NOT NULL,
  opened_by_source TEXT NOT NULL,
  opened_by_user_id INTEGER,
  closed_at INTEGER,
  closed_by_source TEXT,
  closed_by_user_id INTEGER,
  category TEXT,
  summary TEXT,
  assignee_user_id INTEGER,
  last_assignment_at INTEGER,
  first_response_at INTEGER,
  incoming_count INTEGER NOT NULL DEFAULT 0,
  outgoing_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_contact ON conversations(workspace_id, contact_id, id);
CREATE UNIQUE INDEX conversations_open ON conversations(contact_id) WHERE closed_at IS NULL;

CREATE TABLE comments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX comments_contact ON comments(workspace_id, contact_id, id);

CREATE TABLE comment_mentions (
  comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (comment_id, user_id)
);
