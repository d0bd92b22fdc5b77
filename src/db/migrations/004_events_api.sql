-- Idempotent ingest: one event per (application, idempotency key); the body hash tells a retry
-- of the same request from a different request under the same key.
ALTER TABLE events ADD COLUMN idempotency_key text;
ALTER TABLE events ADD COLUMN body_hash text;
ALTER TABLE events ADD COLUMN priority text NOT NULL DEFAULT 'normal';
ALTER TABLE events ADD COLUMN replays integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX events_idempotency_idx ON events (application_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_type_idx ON events (application_id, type, id DESC);
CREATE INDEX events_tags_idx ON events USING gin (tags);
CREATE INDEX dead_letters_endpoint_idx ON dead_letters (application_id, endpoint_id, created_at);
