// The throttle (src/db/throttle.ts) on a real embedded PostgreSQL, without Temporal: the GCRA
// arithmetic of the schedule, sends woken late that must not bunch, and deliveries on 40
// connections at once, whose sends must never go faster than the rate allows.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { insertEndpoint } from '../../src/db/endpoints.js';
import type { Db } from '../../src/db/pool.js';
import { askThrottle } from '../../src/db/throttle.js';
import type { RateLimit } from '../../src/domain/throttle.js';
import { migratedPostgres } from '../helpers/postgres.js';

/**
 * GCRA's promise over sorted send times: any `k` consecutive sends span at least (k − burst)·T,
 * so no window of length L holds more than burst + L/T of them. `slack` ms for the ms rounding.
 */
function assertConforms(times: number[], limit: RateLimit, slack = 1) {
  const T = 1000 / limit.perSecond;
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + limit.burst; j < sorted.length; j++) {
      const span = sorted[j]! - sorted[i]!;
      const least = (j - i + 1 - limit.burst) * T;
      assert.ok(span >= least - slack, `sends ${i}..${j} span ${span} ms, less than ${least} ms`);
    }
  }
}

/** The largest number of sends in any window [t, t + ms) of the sorted send times. */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= ms) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("an endpoint's throttle in PostgreSQL (GCRA with reservation)", () => {
  const postgres = migratedPostgres('throttle', 40);
  let db: Db;
  let n = 0;
  before(() => {
    db = postgres.db();
  });

  const endpoint = async (rateLimit: RateLimit) => {
    const e = await insertEndpoint(db, {
      id: `ep_${String(++n).padStart(26, '0')}`,
      applicationId: 'app',
      name: `throttled ${n}`,
      url: 'https://example.com/hook',
      events: ['*'],
      headers: {},
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      signatureHeader: null,
      timeoutMs: null,
      retryConfig: null,
      circuitBreaker: null,
      filters: null,
      rateLimit,
      enabled: true,
    });
    assert.deepEqual(e.rateLimit, rateLimit, 'the rateLimit is stored and read back');
    return e.id;
  };
  /** A send's first ask: it reserves a slot, and goes at once only within the burst. */
  const reserveSlot = (id: string, limit: RateLimit) => askThrottle(db, id, limit, { reserved: false });
  /** What a delivery does: ask, wait for the slot, ask again until a token is free; when it went. */
  const deliver = async (id: string, limit: RateLimit) => {
    let answer = await reserveSlot(id, limit);
    while (answer.waitMs > 0) {
      await sleep(answer.waitMs);
      answer = await askThrottle(db, id, limit, { reserved: true });
    }
    return answer.at;
  };

  it('lets the burst go at once, then spaces sends one emission interval apart', async () => {
    // Intervals long beside a call's time, so a busy machine's slow calls cannot blur them.
    const limit = { perSecond: 4, burst: 5 };
    const id = await endpoint(limit);
    const waits: number[] = [];
    const took: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      waits.push((await reserveSlot(id, limit)).waitMs);
      took.push(Date.now() - started);
    }
    assert.deepEqual(waits.slice(0, 5), [0, 0, 0, 0, 0], 'the burst waits for nothing');
    // Sends 6, 7, 8 are due 250, 500, 750 ms after the first, less the time the calls took since
    // it: measured, as each call is a commit that a busy disk may hold for tens of ms.
    for (const [k, wait] of waits.slice(5).entries()) {
      const due = (k + 1) * 250;
      const since = took[k + 5]! + 1;
      assert.ok(
        wait <= due && wait >= due - since,
        `send ${k + 6} waits ${wait} ms, due at ${due} (${since} ms on)`,
      );
    }
  });

  it('refills the burst after a quiet spell, and never banks more than the burst', async () => {
    const limit = { perSecond: 2, burst: 3 };
    const id = await endpoint(limit);
    for (let i = 0; i < 3; i++) assert.equal((await reserveSlot(id, limit)).waitMs, 0);
    assert.ok((await reserveSlot(id, limit)).waitMs > 0, 'the 4th send of the burst waits');
    await new Promise((r) => setTimeout(r, 3_000)); // 6 intervals: more than the burst's worth
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push((await reserveSlot(id, limit)).waitMs);
    assert.deepEqual(waits.slice(0, 3), [0, 0, 0], 'the burst is back');
    assert.ok(waits[3]! > 0, 'but only the burst: a quiet spell does not bank more');
  });

  it('spaces a fractional rate (0.5/s: one send every 2 s)', async () => {
    const limit = { perSecond: 0.5, burst: 1 };
    const id = await endpoint(limit);
    assert.equal((await reserveSlot(id, limit)).waitMs, 0);
    const second = await reserveSlot(id, limit);
    const third = await reserveSlot(id, limit);
    // Less the time the calls took (up to a few hundred ms on a busy machine).
    assert.ok(second.waitMs > 1600 && second.waitMs <= 2000, `waits ${second.waitMs} ms`);
    assert.ok(third.waitMs > 3600 && third.waitMs <= 4000, `waits ${third.waitMs} ms`);
    assert.ok(Math.abs(third.waitMs - second.waitMs - 2000) <= 300, 'one interval apart');
  });

  it('lets deliveries on 40 connections at once send no faster than the rate', async () => {
    const limit = { perSecond: 50, burst: 10 };
    const id = await endpoint(limit);
    const N = 400;
    const started = Date.now();
    const sends = await Promise.all(Array.from({ length: N }, () => deliver(id, limit)));
    const took = Date.now() - started;
    assertConforms(sends, limit);
    const busiest = busiestWindow(sends, 1000);
    assert.ok(busiest <= limit.perSecond + limit.burst, `${busiest} sends in one second`);
    // And not much slower either: 390 sends after the burst at 50/s take 7.8 s (a busy machine
    // adds the time of its slow calls and late timers, never less).
    assert.ok(took >= 7_700 && took < 2 * 7_800, `${N} sends took ${took} ms`);
  });

  it('holds back sends woken late, so they cannot go out in a bunch', async () => {
    const limit = { perSecond: 10, burst: 2 };
    const id = await endpoint(limit);
    // Calls "at once" queue on the endpoint's row lock, each through its commit: one that reaches
    // it an interval (100 ms) after the first may go too, as the rate allows. Their PostgreSQL
    // clock times (`at`) show how far apart they were.
    const mayGo = (answers: Array<{ at: number }>) =>
      2 +
      Math.floor((Math.max(...answers.map((a) => a.at)) - Math.min(...answers.map((a) => a.at)) + 1) / 100);
    const first = await Promise.all(Array.from({ length: 10 }, () => reserveSlot(id, limit)));
    const atOnce = first.filter((a) => a.waitMs === 0).length;
    assert.ok(atOnce >= 2 && atOnce <= mayGo(first), `${atOnce} went at once: the burst, 2`);
    // The 8 others' slots pass while their worker is busy; then all 8 wake at once.
    await sleep(1_500);
    const woken = await Promise.all(
      Array.from({ length: 8 }, () => askThrottle(db, id, limit, { reserved: true })),
    );
    const went = woken.filter((a) => a.waitMs === 0).length;
    assert.ok(
      went >= 2 && went <= mayGo(woken),
      `${went} of 8 late sends went at once: only a burst's worth may`,
    );
    for (const a of woken.filter((w) => w.waitMs > 0)) assert.ok(a.waitMs <= 100, `waits ${a.waitMs} ms`);
  });

  it('keeps each endpoint on its own schedule', async () => {
    const limit = { perSecond: 1, burst: 1 };
    const a = await endpoint(limit);
    const b = await endpoint(limit);
    const started = Date.now();
    assert.equal((await reserveSlot(a, limit)).waitMs, 0);
    const wait = (await reserveSlot(a, limit)).waitMs;
    // Due 1 s after the first, less the time the two calls (commits) took.
    assert.ok(wait >= 1000 - (Date.now() - started) - 1, `waits ${wait} ms`);
    assert.equal((await reserveSlot(b, limit)).waitMs, 0, 'another endpoint does not wait for a');
  });

  it('follows a changed rate from the next reservation, and goes with its endpoint', async () => {
    const id = await endpoint({ perSecond: 1, burst: 1 });
    const started = Date.now();
    await reserveSlot(id, { perSecond: 1, burst: 1 });
    // A faster rate: the next send is due one new interval after the schedule's end (less the
    // time the two calls took: measured, a commit may take a while on a busy machine).
    const faster = await reserveSlot(id, { perSecond: 100, burst: 1 });
    const since = Date.now() - started + 1;
    assert.ok(faster.waitMs >= 1000 - since && faster.waitMs <= 1010, `waits ${faster.waitMs} ms`);
    await db.query('DELETE FROM endpoints WHERE id = $1', [id]);
    const { rowCount } = await db.query('SELECT 1 FROM endpoint_throttle WHERE endpoint_id = $1', [id]);
    assert.equal(rowCount, 0, 'the throttle row went with the endpoint (cascade)');
  });
});
