-- Webhook subscriptions, the events they receive and the log of every delivery attempt.

-- A subscription: where to post, which event types (a JSON array; ["*"] for all), and the
-- signing key, sealed (never returned after creation). A disabled endpoint (by its owner, or
-- because it answered 410) keeps its pending deliveries until it is enabled again.
CREATE TABLE webhooks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  description TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks(workspace_id, id);

-- An event as it is posted: `body` holds the exact JSON bytes that are signed and sent, built
-- in the transaction of the change that caused it. `uid` is its event_id and webhook-id.
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  uid TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  body BLOB NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX events_workspace ON events(workspace_id, id);

-- One event for one subscription. A worker leases due deliveries like delivery jobs; the
-- outcome of every attempt is kept in webhook_attempts.
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  run_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  last_status INTEGER,
  last_error TEXT,
  queued_ms INTEGER NOT NULL,
  delivered_ms INTEGER,
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(run_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

CREATE TABLE webhook_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
