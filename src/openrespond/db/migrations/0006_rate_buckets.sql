-- Rate-limit buckets shared by every server process (used on PostgreSQL, where several
-- processes serve one database; a single SQLite process keeps its buckets in memory).
CREATE TABLE rate_buckets (
  key TEXT PRIMARY KEY,
  tokens REAL NOT NULL,
  at_ms INTEGER NOT NULL
);
