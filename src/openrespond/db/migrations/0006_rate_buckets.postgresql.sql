-- Rate-limit buckets shared by every server process. Unlogged: no write-ahead log for a
-- counter that is rewritten on every request; a crash empties the table, which only
-- forgets how much of their burst clients have used.
CREATE UNLOGGED TABLE rate_buckets (
  key TEXT COLLATE "C" PRIMARY KEY,
  tokens DOUBLE PRECISION NOT NULL,
  at_ms BIGINT NOT NULL
);

-- Refill the bucket by the time since its last request (this server's clock), take one
-- token if there is one; one call, one round trip. The row lock orders requests of one key.
CREATE FUNCTION rate_take(k TEXT, rate DOUBLE PRECISION, burst DOUBLE PRECISION,
  OUT allowed BOOLEAN, OUT tokens DOUBLE PRECISION) LANGUAGE plpgsql AS $$
DECLARE
  now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
  had DOUBLE PRECISION;
  at BIGINT;
BEGIN
  INSERT INTO rate_buckets (key, tokens, at_ms) VALUES (k, burst, now_ms)
  ON CONFLICT (key) DO NOTHING;
  SELECT b.tokens, b.at_ms INTO had, at FROM rate_buckets b WHERE b.key = k FOR UPDATE;
  tokens := LEAST(burst, had + GREATEST(now_ms - at, 0) * rate / 1000.0);
  allowed := tokens >= 1;
  IF allowed THEN
    tokens := tokens - 1;
  END IF;
  UPDATE rate_buckets SET tokens = rate_take.tokens, at_ms = now_ms WHERE key = k;
END $$;
