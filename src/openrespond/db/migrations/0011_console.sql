-- The developer console: the workspace's API request log, and more of each webhook attempt.

-- One /v2 request of a workspace (one whose token was accepted). `path` keeps the query
-- string; the bodies are kept only for answers of 400 and above, with secrets redacted.
-- Written in batches shortly after the answer; bounded by count and age (the retention work).
CREATE TABLE api_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  token_id INTEGER,
  at_ms INTEGER NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  request_body TEXT,
  response_body TEXT
);
CREATE INDEX api_requests_workspace ON api_requests(workspace_id, id);

-- When each token was last used (from the request log, so to the nearest batch).
ALTER TABLE api_tokens ADD COLUMN last_used_ms INTEGER;

-- What each webhook attempt sent (its headers, signatures included: they are not secrets)
-- and the start of what the receiver answered.
ALTER TABLE webhook_attempts ADD COLUMN request_headers TEXT;
ALTER TABLE webhook_attempts ADD COLUMN response_excerpt TEXT;
