-- Durable intake: an event is accepted once its row is committed; a dispatcher starts the
-- workflow of every committed event that has none yet (after a crash, an engine outage or a
-- failed start). `dispatched_at` is set once its workflow is known to exist.
ALTER TABLE events ADD COLUMN dispatched_at timestamptz;
-- A process that is starting (or about to start) the workflow holds the event until then; an
-- expired lease is free for any dispatcher.
ALTER TABLE events ADD COLUMN dispatch_lease_until timestamptz;
ALTER TABLE events ADD COLUMN dispatch_attempts integer NOT NULL DEFAULT 0;
-- Rows from before: an event the workflow has touched is dispatched; `accepted` and
-- `not_started` rows are handed to the dispatcher (a start that finds the workflow counts).
UPDATE events SET dispatched_at = updated_at WHERE status NOT IN ('accepted', 'not_started');
UPDATE events SET status = 'accepted' WHERE status = 'not_started';
-- The dispatcher's order: priority (high, normal, low), then age. Only undispatched rows.
CREATE INDEX events_dispatch_idx
  ON events ((CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END), created_at)
  WHERE dispatched_at IS NULL;
