import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claimForDispatch } from '../../src/db/events.js';
import { newId } from '../../src/db/ids.js';
import { api, startStack, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/** A Prometheus sample's value in a /metrics text (0 when absent). */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * Durable intake on the real stack. The API process (HOOKLINE_ROLE=api) starts only the events it
 * accepts itself; rows put straight into the table (as a crash or an older version leaves them)
 * wait for a worker process's dispatcher.
 */
describe('durable intake', () => {
  let stack: TestStack;
  const workers: WorkerProcess[] = [];
  let applicationId: string;

  before(async () => {
    stack = await startStack({ env: { HOOKLINE_ROLE: 'api', HOOKLINE_MAX_BACKLOG: '100' } });
    const { rows } = await stack.platform.db.query<{ id: string }>(`SELECT id FROM applications LIMIT 1`);
    applicationId = rows[0]!.id;
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await stack?.stop();
  });

  /** Committed events with no workflow, as a crash or an engine outage leaves them. */
  const leaveUndispatched = async (n: number, priority = 'normal', type = 'intake.left') => {
    const ids = Array.from({ length: n }, () => newId('evt'));
    await stack.platform.db.query(
      `INSERT INTO events (id, application_id, type, body, priority)
       SELECT id, $2, $3, '{}', $4 FROM unnest($1::text[]) AS id`,
      [ids, applicationId, type, priority],
    );
    return ids;
  };

  it('commits a batch in one statement: its items share one commit time; keys are checked within the batch too', async () => {
    const r = await api(stack, 'POST', '/api/events/batch', {
      events: [
        { type: 'intake.one', payload: { n: 1 }, options: { idempotencyKey: 'batch-k' } },
        { type: 'intake.one', payload: { n: 1 }, options: { idempotencyKey: 'batch-k' } },
        { type: 'intake.one', payload: { n: 2 }, options: { idempotencyKey: 'batch-k' } },
        { type: 'not a type', payload: {} },
        { type: 'intake.two', payload: { n: 3 } },
      ],
    });
    assert.equal(r.status, 207);
    assert.deepEqual(
      r.body.results.map((x: { status: number }) => x.status),
      [202, 200, 409, 400, 202],
    );
    assert.equal(r.body.results[1].eventId, r.body.results[0].eventId);
    const { rows } = await stack.platform.db.query<{ created_at: Date }>(
      'SELECT DISTINCT created_at FROM events WHERE id = ANY($1::text[])',
      [[r.body.results[0].eventId, r.body.results[4].eventId]],
    );
    assert.equal(rows.length, 1, 'one statement, one transaction: one now()');
    // The API process starts the workflows of what it accepted itself.
    await waitUntil(
      async () =>
        (await api(stack, 'GET', `/api/events/${r.body.results[4].eventId}`)).body.dispatchedAt !== null,
    );
  });

  it('claims undispatched events by priority, then age, and skips rows another dispatcher holds', async () => {
    const low = await leaveUndispatched(2, 'low', 'intake.order');
    const normal = await leaveUndispatched(2, 'normal', 'intake.order');
    const high = await leaveUndispatched(2, 'high', 'intake.order');
    const db = stack.platform.db;
    const first = await claimForDispatch(db, 3, 60_000);
    assert.deepEqual(
      first.map((e) => e.id),
      [...high, normal[0]],
    );
    // A dispatcher in the middle of its claim holds its rows locked: another skips them.
    const other = await db.connect();
    try {
      await other.query('BEGIN');
      const held = await other.query<{ id: string }>(
        `SELECT id FROM events WHERE id = ANY($1::text[]) ORDER BY created_at LIMIT 1 FOR UPDATE`,
        [[normal[1], ...low]],
      );
      const second = await claimForDispatch(db, 10, 60_000);
      const mine = second.map((e) => e.id).filter((id) => [normal[1], ...low].includes(id));
      assert.ok(!mine.includes(held.rows[0]!.id));
      assert.equal(mine.length, 2);
      await other.query('ROLLBACK');
    } finally {
      other.release();
    }
    await db.query('DELETE FROM events WHERE id = ANY($1::text[])', [[...low, ...normal, ...high]]);
  });

  it('answers 503 with Retry-After once the backlog is at its cap, and stores nothing', async () => {
    const ids = await leaveUndispatched(100);
    await waitUntil(async () => {
      const r = await api(stack, 'POST', '/api/events', { type: 'intake.capped', payload: {} });
      return r.status === 503;
    });
    const capped = async () =>
      Number(
        (
          await stack.platform.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM events WHERE type = 'intake.capped'`,
          )
        ).rows[0]!.n,
      );
    const before = await capped();
    const single = await api(stack, 'POST', '/api/events', { type: 'intake.capped', payload: {} });
    assert.equal(single.status, 503);
    assert.match(single.headers.get('content-type') ?? '', /problem\+json/);
    assert.ok(Number(single.headers.get('retry-after')) > 0);
    const batch = await api(stack, 'POST', '/api/events/batch', {
      events: [{ type: 'intake.capped', payload: {} }],
    });
    assert.equal(batch.status, 503);
    const stats = await api(stack, 'GET', '/api/stats');
    assert.ok(stats.body.queues.pendingDispatch >= 100);
    const metrics = await (await fetch(`${stack.platform.apiUrl}/metrics`)).text();
    assert.ok(sample(metrics, 'hookline_events_pending_dispatch') >= 100);
    assert.ok(sample(metrics, 'hookline_events_pending_dispatch_oldest_seconds') >= 0);
    assert.equal(await capped(), before, 'a refused request stores nothing');
    assert.equal(ids.length, 100);
  });

  it('two worker processes dispatch a backlog of 2,000 events: every workflow started once, none left', async () => {
    await leaveUndispatched(2000);
    const expected = Number(
      (
        await stack.platform.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM events WHERE dispatched_at IS NULL`,
        )
      ).rows[0]!.n,
    );
    assert.ok(expected >= 2100);
    workers.push(await startWorkerProcess(stack, 'dispatch-1'));
    workers.push(await startWorkerProcess(stack, 'dispatch-2'));
    await waitUntil(
      async () =>
        (
          await stack.platform.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM events WHERE dispatched_at IS NULL OR status IN ('accepted', 'dispatched')`,
          )
        ).rows[0]!.n === '0',
      180_000,
      500,
    );
    const dispatched = async () => {
      const texts = await Promise.all(workers.map(async (w) => (await fetch(w.metricsUrl)).text()));
      const of = (result: string) =>
        texts.map((t) => sample(t, `hookline_events_dispatched_total{result="${result}"}`));
      return { started: of('started'), already: of('already_started'), failed: of('failed') };
    };
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // A process counts a start once its call has returned, which can be after the workflow (run by
    // either process) routed the event: read until every start is counted.
    let counted = await dispatched();
    await waitUntil(
      async () => sum((counted = await dispatched()).started) + sum(counted.already) >= expected,
      30_000,
    ).catch(() => undefined);
    const { started, already, failed } = counted;
    // A start answered later than the dispatcher waits (5 s: a busy machine) counts as failed and
    // its retry as already_started; the workflow was still started once. An event started by both
    // processes would count one more than there are events.
    assert.equal(
      sum(started) + sum(already),
      expected,
      `started ${started.join(' + ')}, already started ${already.join(' + ')}`,
    );
    assert.ok(sum(already) <= sum(failed), `${sum(already)} already started, ${sum(failed)} failed starts`);
    assert.ok(
      started.every((n) => n > 0),
      `both dispatch (${started.join(', ')})`,
    );
    // Every one ran its workflow (no endpoint matches: each ends no_match).
    const { rows } = await stack.platform.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM events WHERE type = 'intake.left' AND status = 'no_match'`,
    );
    assert.equal(Number(rows[0]!.n), 2100);
  });
});
