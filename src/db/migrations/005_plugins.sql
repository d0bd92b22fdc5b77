-- endpoint:down: since when a circuit has not been closed, and whether that was announced.
ALTER TABLE endpoint_circuits
  ADD COLUMN down_since timestamptz,
  ADD COLUMN down_notified_at timestamptz;
