-- Retry policies, dead letters, replays and the circuit-breaker mirror.

ALTER TABLE endpoints ADD COLUMN disabled_reason text;

-- A replay runs the delivery again with fresh attempts: `run` 0 is the original, 1.. replays.
ALTER TABLE deliveries ADD COLUMN run integer NOT NULL DEFAULT 0;
ALTER TABLE delivery_attempts ADD COLUMN run integer NOT NULL DEFAULT 0;
ALTER TABLE delivery_attempts ADD COLUMN response_headers jsonb;
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_pkey;
ALTER TABLE delivery_attempts ADD PRIMARY KEY (delivery_id, run, attempt);

CREATE TABLE dead_letters (
  id                text PRIMARY KEY,
  application_id    text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  delivery_id       text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  event_id          text NOT NULL,
  endpoint_id       text NOT NULL,
  run               integer NOT NULL,
  attempts          integer NOT NULL,
  reason            text NOT NULL,
  last_status_code  integer,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  replayed_at       timestamptz,
  replay_run        integer,
  UNIQUE (delivery_id, run)
);
CREATE INDEX dead_letters_application_idx ON dead_letters (application_id, created_at DESC);

-- Read-only mirror of each endpoint's circuit breaker. Its only writer is the endpoint's
-- endpointWorkflow (through an activity); deliveries read it to skip the breaker on the hot path.
CREATE TABLE endpoint_circuits (
  endpoint_id           text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
  state                 text NOT NULL,
  consecutive_failures  integer NOT NULL DEFAULT 0,
  open_until            timestamptz,
  seq                   bigint NOT NULL DEFAULT 0,
  updated_at            timestamptz NOT NULL DEFAULT now()
);
