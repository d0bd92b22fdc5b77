// The breaker at 50,000 waiters (#18, docs/design/event-shape.md §6): its state, continue-as-new
// input and history stay bounded however many deliveries wait, and every waiter is released once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import {
  permitSignaller,
  releaseWaiterRows,
  type PermitSignaller,
  type ReleaseProgress,
} from '../../activities/breaker.js';
import type { Activities } from '../../activities/index.js';
import { DEFAULT_RETRY_CONFIG } from '../../src/domain/retry.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Db } from '../../src/db/pool.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/postgres.js';
import {
  breakerOutcomeSignal,
  breakerStateQuery,
  breakerUpgradeSignal,
  circuitWaitSignal,
  type AttemptResult,
  type BreakerState,
  type CircuitPermit,
} from '../../workflows/contract.js';
import { freePort } from '../helpers/ports.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  startedWorkflow,
  startStackAndReceiver,
  stopStackAndReceiver,
  workflowBundle,
  type TestStack,
} from '../helpers/stack.js';
import { noopActivities, timeSkippingEnvironment } from '../helpers/time-skipping.js';
import { waitUntil } from '../helpers/wait.js';

const WIDTH = 50_000;
const KB64 = 64 * 1024;
const waiterId = (i: number) => `delivery:evt_${String(i).padStart(26, '0')}:ep_wide`;

const noop: Activities = noopActivities(async (_r, attempt): Promise<AttemptResult> => ({
  outcome: 'delivered',
  statusCode: 204,
  errorClass: null,
  errorMessage: null,
  durationMs: 1,
  retryAfterMs: null,
  attempt,
  retry: DEFAULT_RETRY_CONFIG,
}));

/** The waiter table as the breaker's activities see it, in memory: oldest first. */
function syntheticTable(ids: string[] = []) {
  const waiting = [...ids];
  const released = new Map<string, CircuitPermit[]>();
  const give = (id: string, permit: CircuitPermit) => released.set(id, [...(released.get(id) ?? []), permit]);
  const activities: Partial<Activities> = {
    async offerProbe() {
      const id = waiting.shift();
      if (id !== undefined) give(id, 'probe');
      return id ?? null;
    },
    async releaseWaiters({ permit }) {
      const ids = waiting.splice(0);
      for (const id of ids) give(id, permit);
      return { released: ids.length, stopped: false };
    },
    async adoptWaiters({ workflowIds }) {
      const fresh = workflowIds.filter((id) => !waiting.includes(id));
      waiting.push(...fresh);
      return fresh.length;
    },
  };
  return { waiting, released, activities };
}

describe('the breaker at 50,000 waiters, on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let n = 0;

  before(async () => {
    env = await timeSkippingEnvironment();
  });
  after(async () => {
    await env?.teardown();
  });

  async function worker(mocks: Partial<Activities>) {
    const taskQueue = `width-${++n}`;
    const w = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: { ...noop, ...mocks },
    });
    return { w, taskQueue };
  }

  const startBreaker = (taskQueue: string, endpointId: string, carried?: BreakerState) =>
    env.client.workflow.start('endpointWorkflow', {
      workflowId: `endpoint:${endpointId}`,
      taskQueue,
      args: [{ endpointId, config: { threshold: 3, cooldown: 60_000 }, ...(carried ? { carried } : {}) }],
    });

  async function startedInput(workflowId: string, runId: string): Promise<number> {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    return (started?.input?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
  }

  it('a breaker with 50,000 waiting deliveries keeps its state and continue-as-new input under 64 KB and its history short, and releases every waiter once on close', async () => {
    const table = syntheticTable(Array.from({ length: WIDTH }, (_, i) => waiterId(i)));
    const { w, taskQueue } = await worker(table.activities);
    await w.runUntil(async () => {
      const breaker = await startBreaker(taskQueue, 'ep_wide');
      const latest = env.client.workflow.getHandle('endpoint:ep_wide');
      for (let i = 0; i < 3; i++)
        await breaker.signal(breakerOutcomeSignal, { key: `f${i}`, ok: false, probe: false });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'open');

      // Outcomes while open (each one a history event and a mirror write) until the first run is
      // past 2,000 events; it then turns over (a completion with continue-as-new is refused while
      // signals keep arriving, so the burst stops). Its state carries the full list of 500 recent
      // keys, the most it holds.
      let sent = 3;
      while ((await latest.describe()).historyLength <= 2_000) {
        await Promise.all(
          Array.from({ length: 25 }, (_, j) =>
            latest.signal(breakerOutcomeSignal, {
              key: `delivery:evt_${String(sent + j).padStart(26, '0')}:ep_wide:0:1`,
              ok: false,
              probe: false,
            }),
          ),
        );
        sent += 25;
      }
      await waitUntil(async () => (await latest.describe()).runId !== breaker.firstExecutionRunId, 30_000);
      await waitUntil(async () => (await latest.query(breakerStateQuery)).outcomes === sent);
      const next = await latest.describe();
      const inputBytes = await startedInput('endpoint:ep_wide', next.runId);
      const state = await latest.query(breakerStateQuery);
      const stateBytes = Buffer.byteLength(JSON.stringify(state));
      assert.equal(state.state, 'open');
      assert.equal(state.waiterTable, true);
      assert.equal(state.waiters, undefined, 'no waiting list in the state');
      assert.ok(stateBytes < KB64, `state query payload ${stateBytes} B`);
      assert.ok(inputBytes < KB64, `continue-as-new input ${inputBytes} B`);
      assert.equal(table.waiting.length, WIDTH, 'every waiter still waits');

      await env.sleep('61 seconds'); // the cooldown passes: half-open, and the oldest waiter probes
      await waitUntil(async () => (await latest.query(breakerStateQuery)).probe !== null);
      const half = await latest.query(breakerStateQuery);
      assert.equal(half.state, 'half_open');
      assert.equal(half.probe?.workflowId, waiterId(0), 'the oldest waiter holds the probe');

      await latest.signal(breakerOutcomeSignal, { key: 'probe', ok: true, probe: true });
      await waitUntil(async () => table.released.size === WIDTH, 30_000);
      const closed = await latest.query(breakerStateQuery);
      assert.equal(closed.state, 'closed');
      assert.equal(table.waiting.length, 0);
      assert.deepEqual(table.released.get(waiterId(0)), ['probe']);
      const twice = [...table.released.values()].filter((p) => p.length !== 1).length;
      assert.equal(twice, 0, 'each waiter released once');
      assert.equal([...table.released.values()].filter((p) => p[0] === 'go').length, WIDTH - 1);

      const final = await latest.describe();
      const grown = final.historyLength - next.historyLength;
      assert.ok(grown < 200, `half-open, probe, close and the release of 50,000 took ${grown} events`);
      console.log(
        `50,000 waiters: state query ${stateBytes} B, continue-as-new input ${inputBytes} B, ` +
          `first run turned over after ${sent} outcomes, probe to release of all: ${grown} events`,
      );
      await latest.terminate();
    });
  });

  it('an old-shape breaker carrying 1,000 waiters adopts them into the table on its next run', async () => {
    const carriedWaiters = Array.from({ length: 1_000 }, (_, i) => `delivery:evt_old${i}:ep_old`);
    const table = syntheticTable();
    const published: Array<{ seq: number; waiterTable?: boolean }> = [];
    const { w, taskQueue } = await worker({
      ...table.activities,
      async publishCircuitState(m) {
        published.push({
          seq: m.seq,
          ...(m.waiterTable === undefined ? {} : { waiterTable: m.waiterTable }),
        });
      },
    });
    await w.runUntil(async () => {
      const carried: BreakerState = {
        state: 'open',
        consecutiveFailures: 3,
        openUntil: (await env.currentTimeMs()) + 3_600_000,
        probe: null,
        waiters: carriedWaiters,
        recentKeys: ['a', 'b', 'c'],
        seq: 7,
        outcomes: 3,
        opened: 1,
      };
      const breaker = await startBreaker(taskQueue, 'ep_old', carried);
      await waitUntil(async () => published.length > 0);
      assert.deepEqual(table.waiting, carriedWaiters, 'adopted in their order');
      assert.deepEqual(published[0], { seq: 8, waiterTable: true }, 'the mirror learns the table');
      const s = await breaker.query(breakerStateQuery);
      assert.equal(s.waiters, undefined);
      assert.equal(s.state, 'open');
      const input = (await breaker.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      assert.ok(input, 'the run was started with the old state');
      await breaker.terminate();
    });
  });

  it('a breaker running the code from before the table moves its waiters to the table when an attempt asks it to upgrade', async () => {
    // The workflows as they were before the waiter table (the commit before it), in a folder under
    // the worktree so that the bundler finds node_modules.
    const oldTree = path.resolve('.data', `breaker-before-table-${process.pid}`);
    await mkdir(oldTree, { recursive: true });
    // The commit that split the old breaker out into endpoint-legacy.ts: its parent has the old code.
    const base = execFileSync(
      'git',
      ['log', '--diff-filter=A', '--format=%H', '-1', '--', 'workflows/endpoint-legacy.ts'],
      { encoding: 'utf8' },
    ).trim();
    execFileSync('sh', ['-c', `git archive ${base}~1 workflows src/domain | tar -x -C '${oldTree}'`]);
    const oldBundle = await bundleWorkflowCode({
      workflowsPath: path.join(oldTree, 'workflows', 'index.ts'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    await rm(oldTree, { recursive: true, force: true });

    const taskQueue = `width-${++n}`;
    const ids = ['delivery:evt_u1:ep_up', 'delivery:evt_u2:ep_up', 'delivery:evt_u3:ep_up'];
    const old = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: oldBundle,
      activities: noop,
      // No sticky cache: the test server would route later queries to this worker's sticky queue.
      maxCachedWorkflows: 0,
    });
    const breaker = await old.runUntil(async () => {
      const b = await startBreaker(taskQueue, 'ep_up');
      for (let i = 0; i < 3; i++)
        await b.signal(breakerOutcomeSignal, { key: `f${i}`, ok: false, probe: false });
      for (const workflowId of ids) await b.signal(circuitWaitSignal, { workflowId });
      await waitUntil(async () => (await b.query(breakerStateQuery)).waiters?.length === 3);
      return b;
    });

    // The new code takes over the running breaker: its run replays on the old path.
    const table = syntheticTable();
    const w = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: { ...noop, ...table.activities },
    });
    await w.runUntil(async () => {
      await breaker.signal(breakerOutcomeSignal, { key: 'f3', ok: false, probe: false });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).outcomes === 4);
      assert.equal((await breaker.query(breakerStateQuery)).waiters?.length, 3, 'still the old run');

      await breaker.signal(breakerUpgradeSignal);
      const latest = env.client.workflow.getHandle('endpoint:ep_up');
      await waitUntil(async () => (await latest.describe()).runId !== breaker.firstExecutionRunId);
      await waitUntil(async () => table.waiting.length === 3);
      assert.deepEqual(table.waiting, ids, 'adopted in their order');
      const s = await latest.query(breakerStateQuery);
      assert.equal(s.waiterTable, true);
      assert.equal(s.waiters, undefined);
      assert.equal(s.state, 'open');
      assert.equal(s.outcomes, 4, 'the state came along');

      await env.sleep('61 seconds');
      await waitUntil(async () => (await latest.query(breakerStateQuery)).probe !== null);
      await latest.signal(breakerOutcomeSignal, { key: 'probe', ok: true, probe: true });
      await waitUntil(async () => table.released.size === 3);
      assert.deepEqual(
        ids.map((id) => table.released.get(id)),
        [['probe'], ['go'], ['go']],
      );
      await latest.terminate();
    });
  });

  it('half-open hands the probe to the oldest waiter and, with none, waits for a nudge', async () => {
    const table = syntheticTable();
    const { w, taskQueue } = await worker(table.activities);
    await w.runUntil(async () => {
      const breaker = await startBreaker(taskQueue, 'ep_nudge');
      for (let i = 0; i < 3; i++)
        await breaker.signal(breakerOutcomeSignal, { key: `f${i}`, ok: false, probe: false });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'open');
      await env.sleep('61 seconds');
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'half_open');
      assert.equal((await breaker.query(breakerStateQuery)).probe, null, 'no waiter, no probe');

      // A delivery's attempt wrote its row, saw half-open with no probe out, and nudged.
      table.waiting.push('delivery:evt_late:ep_nudge', 'delivery:evt_later:ep_nudge');
      await breaker.signal(circuitWaitSignal, { workflowId: 'delivery:evt_later:ep_nudge' });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).probe !== null);
      assert.equal((await breaker.query(breakerStateQuery)).probe?.workflowId, 'delivery:evt_late:ep_nudge');
      assert.deepEqual(table.waiting, ['delivery:evt_later:ep_nudge'], 'the nudge adopted nothing twice');
      await breaker.terminate();
    });
  });

  it('treats the permit of a delivery that has ended, or never ran, as given', async () => {
    const { w, taskQueue } = await worker({});
    await w.runUntil(async () => {
      const ended = await env.client.workflow.start('endpointWorkflow', {
        workflowId: 'endpoint:ep_ended',
        taskQueue,
        args: [{ endpointId: 'ep_ended', config: { threshold: 3, cooldown: 60_000 } }],
      });
      await ended.terminate('the operator gave up');
      const signal = permitSignaller(env.client);
      assert.equal(await signal('endpoint:ep_ended', 'go'), 'gone');
      assert.equal(await signal('delivery:evt_never:ep_none', 'go'), 'gone');
    });
  });
});

describe('releaseWaiters against PostgreSQL with 50,000 rows', () => {
  let dir: string;
  let pg: EmbeddedPostgresHandle | undefined;
  let db: Db;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hookline-waiters-'));
    pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
    db = createPool(pg.url, 4, { queryTimeoutMs: 60_000 });
    await migrate(db);
    await db.query(`INSERT INTO applications (id, name) VALUES ('app_w', 'waiters')`);
    await db.query(
      `INSERT INTO endpoints (id, application_id, name, url, event_types, secret)
       VALUES ('ep_wide', 'app_w', 'wide', 'https://example.com/', '{x}', 'whsec_x')`,
    );
    await db.query(`INSERT INTO endpoint_circuits (endpoint_id, state, seq) VALUES ('ep_wide', 'closed', 1)`);
  });
  after(async () => {
    await db?.end();
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function fill(): Promise<void> {
    await db.query(
      `INSERT INTO circuit_waiters (endpoint_id, workflow_id, registered_at)
       SELECT 'ep_wide', 'delivery:evt_' || lpad(i::text, 26, '0') || ':ep_wide',
              now() - interval '1 hour' + i * interval '1 millisecond'
         FROM generate_series(0, $1 - 1) AS i`,
      [WIDTH],
    );
  }
  const rowsLeft = async () =>
    Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM circuit_waiters')).rows[0]!.n);

  /** A signaller that counts, measures concurrency, and can die after `crashAfter` signals. */
  function fakeSignaller(crashAfter = Infinity) {
    const calls = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    let total = 0;
    const signal: PermitSignaller = async (workflowId) => {
      if (total >= crashAfter) throw new Error('the worker died');
      total++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      calls.set(workflowId, (calls.get(workflowId) ?? 0) + 1);
      inFlight--;
      return 'signalled';
    };
    return { signal, calls, stats: () => ({ maxInFlight, total }) };
  }

  it('signals 50,000 rows once each, in pages of 500 with at most 32 signals in flight, and deletes them', async () => {
    await fill();
    const fake = fakeSignaller();
    const beats: ReleaseProgress[] = [];
    const t0 = performance.now();
    const result = await releaseWaiterRows({
      db,
      endpointId: 'ep_wide',
      permit: 'go',
      signal: fake.signal,
      heartbeat: (p) => beats.push({ ...p }),
    });
    const ms = performance.now() - t0;
    assert.deepEqual(result, { released: WIDTH, stopped: false });
    assert.equal(fake.calls.size, WIDTH);
    assert.ok(
      [...fake.calls.values()].every((c) => c === 1),
      'each row signalled once',
    );
    assert.ok(fake.stats().maxInFlight <= 32, `in flight: ${fake.stats().maxInFlight}`);
    assert.equal(beats.length, 1 + WIDTH / 500, 'one heartbeat per page of 500');
    assert.equal(await rowsLeft(), 0);
    console.log(`releaseWaiters: 50,000 rows in ${Math.round(ms)} ms (fake signaller)`);
  });

  it('after a crash half-way, the retry signals the rest, repeating only the page that was in flight', async () => {
    await fill();
    const crashing = fakeSignaller(25_250); // dies in the middle of the 51st page
    let last: ReleaseProgress | undefined;
    await assert.rejects(
      releaseWaiterRows({
        db,
        endpointId: 'ep_wide',
        permit: 'go',
        signal: crashing.signal,
        heartbeat: (p) => (last = { ...p }),
      }),
      /the worker died/,
    );
    assert.deepEqual(last, { released: 25_000 });
    assert.equal(await rowsLeft(), WIDTH - 25_000, 'the page in flight is still there');

    const retry = fakeSignaller();
    const result = await releaseWaiterRows({
      db,
      endpointId: 'ep_wide',
      permit: 'go',
      signal: retry.signal,
      resumed: last!,
    });
    assert.deepEqual(result, { released: WIDTH, stopped: false });
    const both = new Map(crashing.calls);
    for (const [id, c] of retry.calls) both.set(id, (both.get(id) ?? 0) + c);
    assert.equal(both.size, WIDTH, 'every waiter signalled');
    const repeated = [...both.values()].filter((c) => c > 1).length;
    assert.ok(repeated <= 500, `only the page in flight was signalled again: ${repeated}`);
    assert.equal(retry.calls.size, WIDTH - 25_000);
    assert.equal(await rowsLeft(), 0);
  });

  it('a go release stops when the circuit opens again, and leaves the rest waiting', async () => {
    await fill();
    let n = 0;
    const signal: PermitSignaller = async () => {
      if (++n === 600)
        await db.query(`UPDATE endpoint_circuits SET state = 'open' WHERE endpoint_id = 'ep_wide'`);
      return 'signalled';
    };
    const result = await releaseWaiterRows({ db, endpointId: 'ep_wide', permit: 'go', signal });
    assert.deepEqual(result, { released: 1_000, stopped: true });
    assert.equal(await rowsLeft(), WIDTH - 1_000);
    await db.query(`UPDATE endpoint_circuits SET state = 'closed' WHERE endpoint_id = 'ep_wide'`);
    await db.query('DELETE FROM circuit_waiters');
  });
  it('retiring the breaker of a deleted endpoint (its rows went with it) lets its waiting deliveries go as probes', async () => {
    await db.query(
      `INSERT INTO endpoints (id, application_id, name, url, event_types, secret)
       VALUES ('ep_gone', 'app_w', 'gone', 'https://example.com/', '{x}', 'whsec_x')`,
    );
    await db.query(
      `INSERT INTO events (id, application_id, type, body)
       VALUES ('evt_g1', 'app_w', 'x', '{}'), ('evt_g2', 'app_w', 'x', '{}'), ('evt_g3', 'app_w', 'x', '{}')`,
    );
    for (const [id, status] of [
      ['delivery:evt_g1:ep_gone', 'waiting_circuit'],
      ['delivery:evt_g2:ep_gone', 'delivered'],
      ['delivery:evt_g3:ep_gone', 'waiting_circuit'],
    ] as const) {
      await db.query(
        `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, status)
         VALUES ($1, 'app_w', $2, 'ep_gone', $3)`,
        [id, id.split(':')[1], status],
      );
      if (status === 'waiting_circuit')
        await db.query(`INSERT INTO circuit_waiters (endpoint_id, workflow_id) VALUES ('ep_gone', $1)`, [id]);
    }
    await db.query(`DELETE FROM endpoints WHERE id = 'ep_gone'`);
    assert.equal(await rowsLeft(), 0, 'the waiter rows went with the endpoint');
    const given: string[] = [];
    const result = await releaseWaiterRows({
      db,
      endpointId: 'ep_gone',
      permit: 'probe',
      signal: async (id, permit) => {
        given.push(`${id} ${permit}`);
        return 'signalled';
      },
    });
    assert.deepEqual(result, { released: 2, stopped: false });
    assert.deepEqual(given, ['delivery:evt_g1:ep_gone probe', 'delivery:evt_g3:ep_gone probe']);
  });
});

describe('waiting for an open circuit on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => ({ stack, receiver } = await startStackAndReceiver()));
  after(() => stopStackAndReceiver(stack, receiver));

  it('releases every delivery waiting for an open circuit when it closes, and leaves no waiter row', async () => {
    const ep = (
      await api(stack, 'POST', '/api/endpoints', {
        name: 'wide',
        url: `${receiver.url}/wide`,
        events: ['wide.*'],
        retryConfig: { strategy: 'fixed', baseDelay: 300, maxAttempts: 20 },
        circuitBreaker: { threshold: 2, cooldown: 5000 },
      })
    ).body as { id: string };
    receiver.respond('/wide', 503);
    const first = (await api(stack, 'POST', '/api/events', { type: 'wide.one', payload: {} })).body;
    await receiver.waitFor(2, { path: '/wide' });
    await waitUntil(
      async () => (await api(stack, 'GET', `/api/endpoints/${ep.id}/circuit`)).body.state === 'open',
    );
    const held = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) => (await api(stack, 'POST', '/api/events', { type: 'wide.held', payload: { i } })).body,
      ),
    );
    const waiterRows = async () =>
      Number(
        (
          await stack.platform.db.query<{ n: string }>(
            'SELECT count(*) AS n FROM circuit_waiters WHERE endpoint_id = $1',
            [ep.id],
          )
        ).rows[0]!.n,
      );
    await waitUntil(async () => (await waiterRows()) >= 20, 30_000);
    const circuit = await api(stack, 'GET', `/api/endpoints/${ep.id}/circuit`);
    assert.ok(circuit.body.waiting >= 20, `the API counts the waiters: ${circuit.body.waiting}`);
    const history = await stack.platform.temporal.workflow.getHandle(`endpoint:${ep.id}`).fetchHistory();
    const waits = (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'endpointWorkflow.wait',
    ).length;
    assert.ok(waits <= 2, `the waiting deliveries did not signal the breaker: ${waits} wait signals`);

    receiver.respond('/wide', 200);
    const results = await Promise.all(
      [first, ...held].map(async (e: { eventId: string }) =>
        (await startedWorkflow(stack, `delivery:${e.eventId}:${ep.id}`)).result(),
      ),
    );
    for (const r of results) assert.equal(r.status, 'delivered');
    for (const r of results.slice(1)) assert.equal(r.attempts, 1, 'waiting spent no attempt');
    assert.equal(await waiterRows(), 0, 'no waiter row is left behind');
    const state = await stack.platform.temporal.workflow
      .getHandle(`endpoint:${ep.id}`)
      .query(breakerStateQuery);
    assert.equal(state.state, 'closed');
    assert.equal(state.waiterTable, true);
  });

  it('a delivery cancelled while it waits for an open circuit leaves no waiter row', async () => {
    const ep = (
      await api(stack, 'POST', '/api/endpoints', {
        name: 'cancelled',
        url: `${receiver.url}/cancelled`,
        events: ['cancelled.*'],
        retryConfig: { strategy: 'fixed', baseDelay: 300, maxAttempts: 20 },
        circuitBreaker: { threshold: 1, cooldown: 600_000 },
      })
    ).body as { id: string };
    receiver.respond('/cancelled', 503);
    await api(stack, 'POST', '/api/events', { type: 'cancelled.one', payload: {} });
    await waitUntil(
      async () => (await api(stack, 'GET', `/api/endpoints/${ep.id}/circuit`)).body.state === 'open',
    );
    const held = (await api(stack, 'POST', '/api/events', { type: 'cancelled.two', payload: {} })).body;
    const rows = async () =>
      (
        await stack.platform.db.query<{ workflow_id: string }>(
          'SELECT workflow_id FROM circuit_waiters WHERE endpoint_id = $1',
          [ep.id],
        )
      ).rows.map((r) => r.workflow_id);
    const heldId = `delivery:${held.eventId}:${ep.id}`;
    await waitUntil(async () => (await rows()).includes(heldId));
    const handle = await startedWorkflow(stack, heldId);
    await handle.cancel();
    await assert.rejects(handle.result());
    await waitUntil(async () => !(await rows()).includes(heldId), 10_000);
  });
});
