-- Per-endpoint throttle (issue #15). `rate_limit` is the endpoint's {perSecond, burst} (NULL:
-- unthrottled); a nullable column, so no table rewrite, and the delivery activity reads it with
-- the endpoint row it already loads.
ALTER TABLE endpoints
  ADD COLUMN rate_limit jsonb CHECK (
    rate_limit IS NULL OR (
      jsonb_typeof(rate_limit -> 'perSecond') = 'number' AND jsonb_typeof(rate_limit -> 'burst') = 'number'
      AND (rate_limit ->> 'perSecond')::float8 > 0 AND (rate_limit ->> 'burst')::int >= 1));

-- The GCRA state of a throttled endpoint (src/db/throttle.ts): `tat`, the theoretical arrival
-- time of the schedule its deliveries reserve slots on (each waits for its slot on a durable
-- timer), and `sent_tat`, the same for the sends that actually went, checked at the moment of
-- sending so that late sends cannot bunch. One short row per endpoint, updated on every throttled
-- send, so it lives apart from the wide endpoints row, with room on its page for HOT updates.
CREATE TABLE endpoint_throttle (
  endpoint_id text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
  tat         timestamptz NOT NULL,
  sent_tat    timestamptz NOT NULL
) WITH (fillfactor = 50);

-- A delivery waiting for its slot is under way, like one waiting to retry.
CREATE OR REPLACE FUNCTION hookline_bucket(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE s WHEN 'pending' THEN 'pending'
                WHEN 'retrying' THEN 'active' WHEN 'waiting_circuit' THEN 'active' WHEN 'throttled' THEN 'active'
                WHEN 'delivered' THEN 'delivered'
                WHEN 'dead_lettered' THEN 'failed' WHEN 'failed' THEN 'failed'
                WHEN 'terminated' THEN 'terminated' WHEN 'cancelled' THEN 'cancelled' END $$;
