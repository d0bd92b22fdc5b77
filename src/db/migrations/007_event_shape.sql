-- The event's status is derived from its deliveries: per-status counters kept by a statement
-- trigger on deliveries, the status derived from them (and from routing and #11's dispatch) by a
-- row trigger on events. No code writes events.status any more.
ALTER TABLE events
  ADD COLUMN route_phase  text CHECK (route_phase IN ('routing', 'routed')),  -- NULL: no page routed yet
  ADD COLUMN route_cursor text,                -- last endpoint id scanned by the event workflow
  ADD COLUMN routing_run_id text,              -- the eventWorkflow run that routed the last page
  ADD COLUMN replaying boolean NOT NULL DEFAULT false,
  ADD COLUMN stopped jsonb,                    -- {kind, reason, identity, runId}: the event workflow was terminated/cancelled
  ADD COLUMN n_pending    integer NOT NULL DEFAULT 0,
  ADD COLUMN n_active     integer NOT NULL DEFAULT 0,
  ADD COLUMN n_delivered  integer NOT NULL DEFAULT 0,
  ADD COLUMN n_failed     integer NOT NULL DEFAULT 0,
  ADD COLUMN n_terminated integer NOT NULL DEFAULT 0,
  ADD COLUMN n_cancelled  integer NOT NULL DEFAULT 0;

-- Who owns a delivery row: the Temporal run whose writes move its status (a reset or replay run
-- claims it; a stale run only appends attempts); which event run claimed this generation.
ALTER TABLE deliveries
  ADD COLUMN workflow_run_id text,
  ADD COLUMN routed_by_run  text,
  ADD COLUMN stop_reason    text,             -- terminate/cancel reason
  ADD COLUMN stopped_by     text;             -- Temporal identity of who terminated/cancelled
CREATE INDEX deliveries_event_status_idx ON deliveries (event_id, status, endpoint_id);

-- Attempts keyed by the Temporal run: a reset run's attempt 1 is not the old run's attempt 1.
-- (No table rewrite: old rows keep NULL, the unique index treats NULL as '').
ALTER TABLE delivery_attempts ADD COLUMN workflow_run_id text;
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_pkey;
CREATE UNIQUE INDEX delivery_attempts_key ON delivery_attempts
  (delivery_id, run, (COALESCE(workflow_run_id, '')), attempt);
CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id, run, started_at);

ALTER TABLE dead_letters
  ADD COLUMN workflow_run_id text,
  ADD COLUMN kind text NOT NULL DEFAULT 'failed' CHECK (kind IN ('failed', 'terminated', 'cancelled')),
  ADD COLUMN stopped_by text,
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolution text CHECK (resolution IN ('delivered', 'superseded')),
  ADD COLUMN resolved_via text CHECK (resolved_via IN ('replay', 'reset', 'event_replay')),
  ADD COLUMN resolved_by_run text;
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_delivery_id_run_key;
CREATE UNIQUE INDEX dead_letters_run_key ON dead_letters (delivery_id, run, (COALESCE(workflow_run_id, '')));

-- The breaker's waiting deliveries (§6): outside the workflow, so 50,000 cost the workflow nothing.
CREATE TABLE circuit_waiters (
  endpoint_id   text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  workflow_id   text NOT NULL,                -- delivery:<eventId>:<endpointId>
  registered_at timestamptz NOT NULL DEFAULT now(),
  released_at   timestamptz,                  -- permit being signalled; the row goes once the signal succeeded
  permit        text CHECK (permit IN ('probe', 'go')),
  PRIMARY KEY (endpoint_id, workflow_id)
);
CREATE INDEX circuit_waiters_queue_idx ON circuit_waiters (endpoint_id, registered_at) WHERE released_at IS NULL;
ALTER TABLE endpoint_circuits
  ADD COLUMN waiter_table boolean NOT NULL DEFAULT false,  -- the breaker runs the §6 path
  ADD COLUMN probe_until timestamptz;                      -- a probe is out until then (published by the breaker)

CREATE TABLE reconciler_cursors (
  name       text PRIMARY KEY,                 -- 'closed-runs'
  close_time timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION hookline_bucket(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE s WHEN 'pending' THEN 'pending'
                WHEN 'retrying' THEN 'active' WHEN 'waiting_circuit' THEN 'active'
                WHEN 'delivered' THEN 'delivered'
                WHEN 'dead_lettered' THEN 'failed' WHEN 'failed' THEN 'failed'
                WHEN 'terminated' THEN 'terminated' WHEN 'cancelled' THEN 'cancelled' END $$;

-- events: derive matched, replaying and status from the row's own columns on every write.
CREATE FUNCTION hookline_events_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.matched := NEW.n_pending + NEW.n_active + NEW.n_delivered + NEW.n_failed + NEW.n_terminated + NEW.n_cancelled;
  IF NEW.replaying AND NEW.route_phase = 'routed' AND NEW.n_pending + NEW.n_active = 0 THEN
    NEW.replaying := false;                      -- the replay has its outcome
  END IF;
  NEW.status := CASE
    WHEN NEW.replaying                                   THEN 'replaying'
    WHEN NEW.route_phase IS NULL AND NEW.dispatched_at IS NULL THEN 'accepted'
    WHEN NEW.route_phase IS NULL                         THEN 'dispatched'
    WHEN NEW.route_phase = 'routing' AND NEW.matched = 0 THEN 'routing'
    WHEN NEW.route_phase = 'routing'                     THEN 'delivering'
    WHEN NEW.matched = 0                                 THEN 'no_match'
    WHEN NEW.n_pending + NEW.n_active > 0                THEN 'delivering'
    WHEN NEW.n_delivered = NEW.matched                   THEN 'delivered'
    WHEN NEW.n_delivered = 0                             THEN 'failed'
    ELSE 'partially_failed' END;
  RETURN NEW;
END $$;
CREATE TRIGGER events_derive_status BEFORE INSERT OR UPDATE ON events
  FOR EACH ROW EXECUTE FUNCTION hookline_events_derive();

-- deliveries: one counter update per writing statement (transition tables), in its transaction.
CREATE FUNCTION hookline_apply_moves(p_event text[], p_status text[], p_n int[]) RETURNS void LANGUAGE sql AS $$
  WITH d AS (
    SELECT event_id,
      coalesce(sum(n) FILTER (WHERE b = 'pending'), 0)    AS p,
      coalesce(sum(n) FILTER (WHERE b = 'active'), 0)     AS a,
      coalesce(sum(n) FILTER (WHERE b = 'delivered'), 0)  AS v,
      coalesce(sum(n) FILTER (WHERE b = 'failed'), 0)     AS f,
      coalesce(sum(n) FILTER (WHERE b = 'terminated'), 0) AS t,
      coalesce(sum(n) FILTER (WHERE b = 'cancelled'), 0)  AS c
    FROM (SELECT e AS event_id, hookline_bucket(s) AS b, n FROM unnest(p_event, p_status, p_n) AS m(e, s, n)) m
    GROUP BY event_id)
  UPDATE events e SET n_pending = e.n_pending + d.p, n_active = e.n_active + d.a,
         n_delivered = e.n_delivered + d.v, n_failed = e.n_failed + d.f,
         n_terminated = e.n_terminated + d.t, n_cancelled = e.n_cancelled + d.c, updated_at = now()
    FROM d WHERE e.id = d.event_id AND (d.p, d.a, d.v, d.f, d.t, d.c) <> (0, 0, 0, 0, 0, 0) $$;
-- Three thin trigger functions: plpgsql plans a statement with every table it names, so a
-- statement naming old_rows cannot run in an INSERT trigger (which has only new_rows).
CREATE FUNCTION hookline_deliveries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hookline_apply_moves(array_agg(event_id), array_agg(status), array_agg(1)) FROM new_rows;
  RETURN NULL;
END $$;
CREATE FUNCTION hookline_deliveries_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hookline_apply_moves(array_agg(event_id), array_agg(status), array_agg(n))
    FROM (SELECT event_id, status, -1 AS n FROM old_rows UNION ALL SELECT event_id, status, 1 FROM new_rows) m;
  RETURN NULL;
END $$;
CREATE FUNCTION hookline_deliveries_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hookline_apply_moves(array_agg(event_id), array_agg(status), array_agg(-1)) FROM old_rows;
  RETURN NULL;
END $$;
-- One trigger per operation: transition tables need a trigger for exactly one event type.
-- INSERT … ON CONFLICT DO UPDATE fires the INSERT trigger for inserted rows and the UPDATE
-- trigger for updated rows, so a routePage claim is counted right on both paths.
CREATE TRIGGER deliveries_count_ins AFTER INSERT ON deliveries REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_inserted();
CREATE TRIGGER deliveries_count_upd AFTER UPDATE ON deliveries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_updated();
CREATE TRIGGER deliveries_count_del AFTER DELETE ON deliveries REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_deleted();

-- Recount (migration backfill, restore, `npm run repair -- events`): counters from deliveries,
-- route_phase from the old status.
CREATE FUNCTION hookline_recount_events(p_event text DEFAULT NULL) RETURNS void LANGUAGE sql AS $$
  UPDATE events e SET
    route_phase = COALESCE(e.route_phase, CASE WHEN e.status IN ('accepted', 'dispatched') THEN NULL
                                               WHEN e.status IN ('routing', 'replaying') THEN 'routing'
                                               ELSE 'routed' END),
    replaying = e.replaying OR e.status = 'replaying',
    n_pending = coalesce(c.p, 0), n_active = coalesce(c.a, 0), n_delivered = coalesce(c.v, 0),
    n_failed = coalesce(c.f, 0), n_terminated = coalesce(c.t, 0), n_cancelled = coalesce(c.c, 0)
  FROM (SELECT ev.id,
          count(*) FILTER (WHERE hookline_bucket(d.status) = 'pending')    AS p,
          count(*) FILTER (WHERE hookline_bucket(d.status) = 'active')     AS a,
          count(*) FILTER (WHERE hookline_bucket(d.status) = 'delivered')  AS v,
          count(*) FILTER (WHERE hookline_bucket(d.status) = 'failed')     AS f,
          count(*) FILTER (WHERE hookline_bucket(d.status) = 'terminated') AS t,
          count(*) FILTER (WHERE hookline_bucket(d.status) = 'cancelled')  AS c
        FROM events ev LEFT JOIN deliveries d ON d.event_id = ev.id
        WHERE p_event IS NULL OR ev.id = p_event GROUP BY ev.id) c
  WHERE e.id = c.id $$;
SELECT hookline_recount_events();

-- The event workflow's claim of one page of matched endpoints (§4.4 of docs/design/event-shape.md):
-- one round trip; deliveries are written before the event (lock order).
CREATE FUNCTION hookline_route_page(p_event text, p_app text, p_run text, p_endpoints text[],
                                    p_cursor text, p_first_of_reset boolean)
RETURNS TABLE (endpoint_id text, run int, skipped int, matched int, n_pending int, n_active int,
               n_delivered int, n_failed int, n_terminated int, n_cancelled int)
LANGUAGE plpgsql AS $$
DECLARE ids text[] := ARRAY(SELECT 'delivery:' || p_event || ':' || m FROM unnest(p_endpoints) AS m);
BEGIN
  -- (b) new rows, and new generations of finished rows; never a running one
  INSERT INTO deliveries AS d (id, application_id, event_id, endpoint_id, run, status, routed_by_run)
  SELECT 'delivery:' || p_event || ':' || m, p_app, p_event, m, 0, 'pending', p_run FROM unnest(p_endpoints) AS m
  ON CONFLICT (id) DO UPDATE
    SET run = d.run + 1, status = 'pending', attempts = 0, last_status_code = NULL, last_error = NULL,
        workflow_run_id = NULL, stop_reason = NULL, stopped_by = NULL,
        routed_by_run = EXCLUDED.routed_by_run, updated_at = now()
    WHERE d.routed_by_run IS DISTINCT FROM EXCLUDED.routed_by_run   -- another event run: a replay or reset
      AND d.status IN ('delivered', 'dead_lettered', 'failed', 'terminated', 'cancelled');
  -- (c) the event, after its deliveries (lock order, §4.6); the counters already include (b)
  UPDATE events e SET route_phase = CASE WHEN p_cursor IS NULL THEN 'routed' ELSE 'routing' END,
         route_cursor = p_cursor, routing_run_id = p_run,
         replays = e.replays + CASE WHEN p_first_of_reset THEN 1 ELSE 0 END,
         replaying = e.replaying OR p_first_of_reset,
         dispatched_at = COALESCE(e.dispatched_at, now()), dispatch_lease_until = NULL
   WHERE e.id = p_event;
  -- (b') what to start: this run's claims, also after a retried local activity
  RETURN QUERY
    SELECT d.endpoint_id, d.run,
           cardinality(ids) - (SELECT count(*)::int FROM deliveries x WHERE x.id = ANY(ids) AND x.routed_by_run = p_run),
           e.matched, e.n_pending, e.n_active, e.n_delivered, e.n_failed, e.n_terminated, e.n_cancelled
      FROM events e LEFT JOIN deliveries d ON d.id = ANY(ids) AND d.routed_by_run = p_run
     WHERE e.id = p_event;
END $$;

-- The fan-out scans an application's enabled endpoints by id, a page at a time.
CREATE INDEX endpoints_application_id_idx ON endpoints (application_id, id) WHERE enabled;
