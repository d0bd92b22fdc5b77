-- Configuration (applications, keys, endpoints) and the query model the API serves
-- (events, deliveries, attempts). Temporal is the source of truth for execution.

CREATE TABLE applications (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id              text PRIMARY KEY,
  application_id  text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  name            text NOT NULL,
  key_hash        text NOT NULL UNIQUE,
  key_prefix      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  revoked_at      timestamptz
);

CREATE TABLE endpoints (
  id                text PRIMARY KEY,
  application_id    text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  name              text NOT NULL,
  url               text NOT NULL,
  event_types       text[] NOT NULL,
  headers           jsonb NOT NULL DEFAULT '{}',
  secret            text NOT NULL,
  signature_header  text,
  retry_config      jsonb,
  filters           jsonb,
  timeout_ms        integer,
  circuit_breaker   jsonb,
  enabled           boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_application_idx ON endpoints (application_id, created_at);

CREATE TABLE events (
  id               text PRIMARY KEY,
  application_id   text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  type             text NOT NULL,
  source           text,
  -- The payload exactly as it will be delivered (JSON text), so every attempt signs the same bytes.
  body             text NOT NULL,
  options          jsonb NOT NULL DEFAULT '{}',
  tags             text[] NOT NULL DEFAULT '{}',
  status           text NOT NULL DEFAULT 'accepted',
  matched          integer,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_application_idx ON events (application_id, created_at DESC);

CREATE TABLE deliveries (
  id                text PRIMARY KEY,
  application_id    text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  event_id          text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  endpoint_id       text NOT NULL,
  status            text NOT NULL DEFAULT 'pending',
  attempts          integer NOT NULL DEFAULT 0,
  last_status_code  integer,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_endpoint_idx ON deliveries (endpoint_id, created_at DESC);

CREATE TABLE delivery_attempts (
  delivery_id     text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt         integer NOT NULL,
  started_at      timestamptz NOT NULL,
  duration_ms     integer NOT NULL,
  outcome         text NOT NULL,
  status_code     integer,
  error_class     text,
  error_message   text,
  response_body   text,
  PRIMARY KEY (delivery_id, attempt)
);
