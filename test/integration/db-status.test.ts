// The event's status derived in PostgreSQL from its deliveries (migration 007), on a real
// embedded PostgreSQL and without Temporal: the triggers, the counters and the recount.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { markReplayed, unmarkReplayed } from '../../src/db/events.js';
import type { Db } from '../../src/db/pool.js';
import { migratedPostgres } from '../helpers/postgres.js';

describe("an event's status derived from its deliveries", () => {
  const postgres = migratedPostgres('dbstatus');
  let db: Db;
  let n = 0;
  before(() => {
    db = postgres.db();
  });

  const newEvent = async () => {
    const id = `evt_${String(++n).padStart(26, '0')}`;
    await db.query(`INSERT INTO events (id, application_id, type, body) VALUES ($1, 'app', 't', '{}')`, [id]);
    return id;
  };
  const status = async (id: string) =>
    (
      await db.query<{ status: string; matched: number; n_pending: number; n_delivered: number }>(
        'SELECT status, matched, n_pending, n_delivered, n_failed FROM events WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const deliveries = async (eventId: string, statuses: string[]) => {
    await db.query(
      `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, run, status)
       SELECT 'delivery:' || $1 || ':ep' || i, 'app', $1, 'ep' || i, 0, s
       FROM unnest($2::text[]) WITH ORDINALITY AS t(s, i)`,
      [eventId, statuses],
    );
  };

  it('follows dispatch, routing and every delivery change to its outcome', async () => {
    const id = await newEvent();
    assert.equal((await status(id)).status, 'accepted');
    await db.query('UPDATE events SET dispatched_at = now() WHERE id = $1', [id]);
    assert.equal((await status(id)).status, 'dispatched');
    await db.query(`UPDATE events SET route_phase = 'routing' WHERE id = $1`, [id]);
    assert.equal((await status(id)).status, 'routing');
    await deliveries(id, ['pending', 'pending', 'pending']);
    assert.equal((await status(id)).status, 'delivering');
    await db.query(`UPDATE events SET route_phase = 'routed' WHERE id = $1`, [id]);
    assert.deepEqual(await status(id), {
      status: 'delivering',
      matched: 3,
      n_pending: 3,
      n_delivered: 0,
      n_failed: 0,
    });
    await db.query(
      `UPDATE deliveries SET status = 'delivered' WHERE event_id = $1 AND endpoint_id IN ('ep1', 'ep2')`,
      [id],
    );
    assert.equal((await status(id)).status, 'delivering');
    await db.query(
      `UPDATE deliveries SET status = 'terminated' WHERE event_id = $1 AND endpoint_id = 'ep3'`,
      [id],
    );
    assert.equal((await status(id)).status, 'partially_failed', 'a terminated delivery is not delivered');
    await db.query(`UPDATE deliveries SET status = 'delivered' WHERE event_id = $1`, [id]);
    assert.equal((await status(id)).status, 'delivered');
  });

  it('derives no_match, failed and replaying', async () => {
    const none = await newEvent();
    await db.query(`UPDATE events SET route_phase = 'routed' WHERE id = $1`, [none]);
    assert.equal((await status(none)).status, 'no_match');

    const failed = await newEvent();
    await db.query(`UPDATE events SET route_phase = 'routed' WHERE id = $1`, [failed]);
    await deliveries(failed, ['dead_lettered', 'cancelled']);
    assert.equal((await status(failed)).status, 'failed');

    // A replay: replaying until it has routed again and its deliveries settle.
    await db.query(`UPDATE events SET replaying = true, route_phase = NULL WHERE id = $1`, [failed]);
    assert.equal((await status(failed)).status, 'replaying');
    await db.query(`UPDATE events SET route_phase = 'routing' WHERE id = $1`, [failed]);
    await db.query(`UPDATE deliveries SET status = 'pending', run = run + 1 WHERE event_id = $1`, [failed]);
    await db.query(`UPDATE events SET route_phase = 'routed' WHERE id = $1`, [failed]);
    assert.equal((await status(failed)).status, 'replaying');
    await db.query(`UPDATE deliveries SET status = 'delivered' WHERE event_id = $1`, [failed]);
    assert.equal((await status(failed)).status, 'delivered', 'the replay has its outcome');
  });

  it("takes back a replay's mark when its workflow cannot start, unless another replay came since", async () => {
    const id = await newEvent();
    await db.query(`UPDATE events SET dispatched_at = now(), route_phase = 'routed' WHERE id = $1`, [id]);
    await deliveries(id, ['delivered']);
    assert.equal((await status(id)).status, 'delivered');
    const mark = await markReplayed(db, id);
    assert.equal(mark?.replays, 1);
    assert.equal((await status(id)).status, 'replaying');
    await unmarkReplayed(db, id, mark!);
    assert.equal((await status(id)).status, 'delivered', 'the outcome shows again');
    const { rows } = await db.query('SELECT replays, replaying FROM events WHERE id = $1', [id]);
    assert.deepEqual(rows[0], { replays: 0, replaying: false });

    // Two replays; the first one's start fails after the second marked: the second's mark stays.
    const first = await markReplayed(db, id);
    const second = await markReplayed(db, id);
    assert.equal(second?.replays, 2);
    await unmarkReplayed(db, id, first!);
    assert.equal((await status(id)).status, 'replaying');
  });

  it('counts a statement that inserts and reclaims many rows once per row, and the recount agrees', async () => {
    const id = await newEvent();
    await db.query(`UPDATE events SET route_phase = 'routing', routing_run_id = 'r1' WHERE id = $1`, [id]);
    await deliveries(
      id,
      Array.from({ length: 200 }, (_, i) => (i % 2 ? 'delivered' : 'dead_lettered')),
    );
    // A page claim for another event run: 300 endpoints, 200 of them finished rows to reclaim.
    const endpoints = Array.from({ length: 300 }, (_, i) => `ep${i + 1}`);
    const { rows } = await db.query<{ endpoint_id: string | null; skipped: number }>(
      `SELECT * FROM hookline_route_page($1, 'app', 'r2', $2::text[], NULL, true)`,
      [id, endpoints],
    );
    assert.equal(rows.filter((r) => r.endpoint_id).length, 300, 'every one claimed for run r2');
    assert.equal(rows[0]!.skipped, 0);
    const after = await status(id);
    assert.deepEqual(after, {
      status: 'replaying',
      matched: 300,
      n_pending: 300,
      n_delivered: 0,
      n_failed: 0,
    });
    // The same claim again (a retried activity) changes nothing.
    await db.query(`SELECT * FROM hookline_route_page($1, 'app', 'r2', $2::text[], NULL, true)`, [
      id,
      endpoints,
    ]);
    assert.equal((await status(id)).n_pending, 300);

    // A random workload, then the recount from the rows: the same counters.
    const all = [
      'pending',
      'retrying',
      'waiting_circuit',
      'throttled',
      'delivered',
      'dead_lettered',
      'terminated',
      'cancelled',
    ];
    for (let i = 0; i < 50; i++) {
      await db.query(`UPDATE deliveries SET status = $2 WHERE event_id = $1 AND random() < 0.3`, [
        id,
        all[i % all.length],
      ]);
    }
    await db.query(`DELETE FROM deliveries WHERE event_id = $1 AND random() < 0.1`, [id]);
    const counters =
      'SELECT n_pending, n_active, n_delivered, n_failed, n_terminated, n_cancelled, matched FROM events WHERE id = $1';
    const byTriggers = (await db.query(counters, [id])).rows[0];
    await db.query('SELECT hookline_recount_events($1)', [id]);
    assert.deepEqual((await db.query(counters, [id])).rows[0], byTriggers);
  });

  it('deleting an event with its deliveries leaves nothing behind', async () => {
    const id = await newEvent();
    await deliveries(id, ['pending', 'delivered']);
    await db.query('DELETE FROM events WHERE id = $1', [id]);
    assert.equal((await db.query('SELECT 1 FROM deliveries WHERE event_id = $1', [id])).rowCount, 0);
  });
});
