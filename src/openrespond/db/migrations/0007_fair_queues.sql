-- Queues that are fair to their destinations: a worker claims due work per channel (for
-- delivery jobs) and per subscription (for webhook deliveries), so that one slow or dead
-- bridge or receiver with a backlog cannot take every slot while the others wait.

-- The channel a job delivers on (its message's), to claim per channel without reading
-- the messages of a backlog.
ALTER TABLE delivery_jobs ADD COLUMN channel_id INTEGER;
UPDATE delivery_jobs SET channel_id = (
  SELECT m.channel_id FROM messages m WHERE m.id = delivery_jobs.message_id
);
CREATE INDEX delivery_jobs_channel_due ON delivery_jobs(channel_id, run_at, id);

CREATE INDEX webhook_deliveries_hook_due ON webhook_deliveries(webhook_id, run_at, id)
  WHERE status = 'pending';
