-- Secret rotation: previous secrets keep signing until they expire.
ALTER TABLE endpoints ADD COLUMN previous_secrets jsonb NOT NULL DEFAULT '[]';
-- Endpoint statistics read attempts by endpoint.
CREATE INDEX delivery_attempts_started_idx ON delivery_attempts (started_at);
