-- Channel drivers for WhatsApp Cloud, Telegram and Twilio.

-- What a provider posted (incoming messages, status reports), kept as it came: the request
-- is answered once this row is stored, and a worker applies it in the transaction that
-- deletes it (so it is applied once, even after a crash in between).
CREATE TABLE provider_inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  content_type TEXT NOT NULL,
  body TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  run_at_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until_ms INTEGER,
  error TEXT
);
CREATE INDEX provider_inbox_due ON provider_inbox(run_at_ms);

-- A contact's id on a channel when that id is not its address (WhatsApp's business-scoped
-- user id of a contact who also has a phone number).
ALTER TABLE contact_channels ADD COLUMN external_id TEXT;
CREATE INDEX contact_channels_external ON contact_channels(channel_id, external_id);

-- What a driver learnt about its channel: the last credential error, Telegram's update
-- offset, when the templates were last synchronised (JSON).
ALTER TABLE channels ADD COLUMN state TEXT NOT NULL DEFAULT '{}';

-- Templates as providers describe them: their own id, last change, why rejected, quality.
ALTER TABLE templates ADD COLUMN provider_id TEXT;
ALTER TABLE templates ADD COLUMN updated_at INTEGER;
ALTER TABLE templates ADD COLUMN status_detail TEXT;
ALTER TABLE templates ADD COLUMN quality_score TEXT;

-- Who long-polls a Telegram bot (one process at a time: Telegram refuses two), and the
-- offset that confirms the updates already stored.
CREATE TABLE channel_polls (
  channel_id INTEGER PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
  next_offset INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  lease_until_ms INTEGER
);

-- Where a file's bytes are when not in `data`: the name of a file in OPENRESPOND_MEDIA_DIR.
ALTER TABLE files ADD COLUMN location TEXT;

-- Reports kept for ids never recorded are dropped after a day, by their time.
CREATE INDEX early_statuses_created ON early_statuses(created_at);
