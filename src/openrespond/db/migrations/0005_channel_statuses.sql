-- Status reports a channel sent for one of its message ids before that id was recorded
-- (a bridge may report "delivered" before its answer to the send has been stored). They
-- are applied to the message as soon as its channel message id is known.
CREATE TABLE early_statuses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  channel_message_id TEXT NOT NULL,
  status TEXT NOT NULL,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX early_statuses_message ON early_statuses(channel_id, channel_message_id);
