import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import { DEFAULT_RETRY_CONFIG, delaySchedule, type RetryConfig } from '../../src/domain/retry.js';
import {
  breakerOutcomeSignal,
  breakerStateQuery,
  circuitPermitSignal,
  deliveryProgressQuery,
  type AttemptResult,
  type DeliveryRef,
  type EventRef,
} from '../../workflows/contract.js';
import { NO_COUNTS } from '../../src/db/fanout.js';
import { workflowBundle } from '../helpers/stack.js';
import { noopActivities, timeSkippingEnvironment } from '../helpers/time-skipping.js';
import { waitUntil } from '../helpers/wait.js';

const policy = (over: Partial<RetryConfig> = {}): RetryConfig => ({
  ...DEFAULT_RETRY_CONFIG,
  jitter: false,
  ...over,
});

const result = (attempt: number, over: Partial<AttemptResult> = {}): AttemptResult => ({
  outcome: 'delivered',
  statusCode: 204,
  errorClass: null,
  errorMessage: null,
  durationMs: 3,
  retryAfterMs: null,
  attempt,
  retry: policy(),
  ...over,
});

type Mocks = Partial<Activities>;
const noop: Activities = noopActivities(async (_r, attempt) => result(attempt));

describe('workflows on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let n = 0;

  before(async () => {
    env = await timeSkippingEnvironment();
  });

  after(async () => {
    await env?.teardown();
  });

  async function worker(mocks: Mocks) {
    const taskQueue = `wf-${++n}`;
    const w = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: { ...noop, ...mocks },
    });
    return { w, taskQueue };
  }

  async function runDelivery(mocks: Mocks, id = `d${n}`) {
    const { w, taskQueue } = await worker(mocks);
    const ref: DeliveryRef = { eventId: `evt_${id}`, applicationId: 'app', endpointId: 'ep_1' };
    return w.runUntil(
      env.client.workflow.execute('deliveryWorkflow', {
        workflowId: `delivery:evt_${id}:ep_1`,
        taskQueue,
        args: [ref],
      }),
    );
  }

  for (const [strategy, over] of [
    ['exponential', { strategy: 'exponential', baseDelay: 60_000 }],
    ['linear', { strategy: 'linear', baseDelay: 60_000 }],
    ['fixed', { strategy: 'fixed', baseDelay: 90_000 }],
    ['custom', { strategy: 'custom', schedule: [5_000, 300_000, 1_800_000] }],
  ] as Array<[string, Partial<RetryConfig>]>) {
    it(`waits exactly the ${strategy} schedule between attempts on durable timers and stops at maxAttempts`, async () => {
      const retry = policy({ ...over, maxAttempts: 5, maxDelay: 3_600_000 });
      const times: number[] = [];
      const dead: number[] = [];
      const progress = await runDelivery({
        async deliverAttempt(_ref, attempt) {
          times.push(await env.currentTimeMs());
          return result(attempt, { outcome: 'retryable', statusCode: 503, errorClass: 'http', retry });
        },
        async deadLetter(_ref, last) {
          dead.push(last.attempts);
        },
      });
      const waits = times.slice(1).map((t, i) => Math.round((t - times[i]!) / 1000) * 1000);
      assert.deepEqual(waits, delaySchedule(retry));
      assert.equal(times.length, 5, 'exactly maxAttempts attempts');
      assert.deepEqual(dead, [5]);
      assert.equal(progress.status, 'dead_lettered');
      assert.equal(progress.attempts, 5);
    });
  }

  it("lengthens a wait to the receiver's Retry-After", async () => {
    const times: number[] = [];
    await runDelivery({
      async deliverAttempt(_ref, attempt) {
        times.push(await env.currentTimeMs());
        return attempt === 1
          ? result(attempt, {
              outcome: 'retryable',
              statusCode: 429,
              retryAfterMs: 600_000,
              retry: policy({ strategy: 'fixed', baseDelay: 1000, maxAttempts: 3 }),
            })
          : result(attempt);
      },
    });
    assert.equal(times.length, 2);
    assert.equal(Math.round((times[1]! - times[0]!) / 1000), 600);
  });

  it('makes deliveries wait for an open circuit without spending attempts, then resume after the probe', async () => {
    const circuit = { open: true };
    const sent: string[] = [];
    const waiting: string[] = []; // the waiter table
    const { w, taskQueue } = await worker({
      async deliverAttempt(ref, attempt, opts) {
        if (circuit.open && !opts?.probe) {
          waiting.push(`delivery:${ref.eventId}:${ref.endpointId}`);
          return result(attempt, { outcome: 'circuit_open' });
        }
        sent.push(`${ref.eventId}#${attempt}${opts?.probe ? ' probe' : ''}`);
        if (opts?.probe) {
          circuit.open = false;
          await env.client.workflow
            .getHandle('endpoint:ep_1')
            .signal(breakerOutcomeSignal, { key: `${ref.eventId}:${attempt}`, ok: true, probe: true });
        }
        return result(attempt);
      },
      async offerProbe() {
        const id = waiting.shift();
        if (id) await env.client.workflow.getHandle(id).signal(circuitPermitSignal, 'probe');
        return id ?? null;
      },
      async releaseWaiters({ permit }) {
        const ids = waiting.splice(0);
        for (const id of ids) await env.client.workflow.getHandle(id).signal(circuitPermitSignal, permit);
        return { released: ids.length, stopped: false };
      },
    });
    await w.runUntil(async () => {
      const breaker = await env.client.workflow.start('endpointWorkflow', {
        workflowId: 'endpoint:ep_1',
        taskQueue,
        args: [{ endpointId: 'ep_1', config: { threshold: 3, cooldown: 60_000 } }],
      });
      for (let i = 0; i < 3; i++)
        await breaker.signal(breakerOutcomeSignal, { key: `f${i}`, ok: false, probe: false });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'open');
      const deliveries = await Promise.all(
        ['a', 'b', 'c'].map((id) =>
          env.client.workflow.start('deliveryWorkflow', {
            workflowId: `delivery:evt_${id}:ep_1`,
            taskQueue,
            args: [{ eventId: `evt_${id}`, applicationId: 'app', endpointId: 'ep_1' }],
          }),
        ),
      );
      await waitUntil(async () => waiting.length === 3);
      for (const d of deliveries)
        assert.equal((await d.query(deliveryProgressQuery)).status, 'waiting_circuit');
      assert.equal(sent.length, 0, 'nothing is sent while the circuit is open');

      await env.sleep('61 seconds'); // the cooldown passes: half-open, one probe, which succeeds
      // One at a time: concurrent result() calls unbalance the test server's time-skipping lock.
      const results = [];
      for (const d of deliveries) results.push(await d.result());
      for (const r of results) {
        assert.equal(r.status, 'delivered');
        assert.equal(r.attempts, 1, 'waiting spent no attempt');
      }
      assert.equal(sent.filter((s) => s.endsWith('probe')).length, 1, 'exactly one probe');
      assert.equal(sent.length, 3);
      const state = await breaker.query(breakerStateQuery);
      assert.equal(state.state, 'closed');
      assert.equal(state.consecutiveFailures, 0);
    });
  });

  it('reopens on a failed probe and stays open for another cooldown', async () => {
    const { w, taskQueue } = await worker({});
    await w.runUntil(async () => {
      const breaker = await env.client.workflow.start('endpointWorkflow', {
        workflowId: 'endpoint:ep_reopen',
        taskQueue,
        args: [{ endpointId: 'ep_reopen', config: { threshold: 2, cooldown: 1_000 } }],
      });
      await breaker.signal(breakerOutcomeSignal, { key: 'a', ok: false, probe: false });
      await breaker.signal(breakerOutcomeSignal, { key: 'a', ok: false, probe: false });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).outcomes === 1);
      assert.equal(
        (await breaker.query(breakerStateQuery)).state,
        'closed',
        'a repeated outcome counts once',
      );
      await breaker.signal(breakerOutcomeSignal, { key: 'b', ok: false, probe: false });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'open');
      await env.sleep('2 seconds');
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'half_open');
      await breaker.signal(breakerOutcomeSignal, { key: 'probe-1', ok: false, probe: true });
      await waitUntil(async () => (await breaker.query(breakerStateQuery)).state === 'open');
      const s = await breaker.query(breakerStateQuery);
      assert.equal(s.opened, 2);
      await breaker.terminate();
    });
  });

  it('continues-as-new under thousands of outcomes and keeps its state', async () => {
    const { w, taskQueue } = await worker({});
    await w.runUntil(async () => {
      const breaker = await env.client.workflow.start('endpointWorkflow', {
        workflowId: 'endpoint:ep_busy',
        taskQueue,
        args: [{ endpointId: 'ep_busy', config: { threshold: 1000, cooldown: 60_000 } }],
      });
      const total = 3000;
      for (let i = 0; i < total; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            breaker.signal(breakerOutcomeSignal, { key: `k${i + j}`, ok: (i + j) % 3 !== 0, probe: false }),
          ),
        );
      }
      // The query can see the last outcome before the run has reached its continue-as-new check,
      // so wait for both: every outcome counted, and a later run than the first.
      const latest = env.client.workflow.getHandle('endpoint:ep_busy');
      await waitUntil(
        async () =>
          (await latest.query(breakerStateQuery)).outcomes === total &&
          (await latest.describe()).runId !== breaker.firstExecutionRunId,
        60_000,
      );
      const described = await latest.describe();
      assert.notEqual(described.runId, breaker.firstExecutionRunId, 'it continued as new');
      assert.ok(described.historyLength < 2500, `history stays short: ${described.historyLength}`);
      const s = await breaker.query(breakerStateQuery);
      assert.equal(s.state, 'closed');
      await breaker.terminate();
    });
  });
});

describe('eventWorkflow v2 on the time-skipping test server', () => {
  it('starts one child delivery per matched endpoint with business ids, hands them off and closes', async (t) => {
    const calls: string[] = [];
    const dead: string[] = [];
    const pages: Array<{ cursor: string | null; limit: number }> = [];
    // Its own test server: on a shared one, time skipping stayed locked after this test's
    // abandoned children (the later timer tests then waited in real time).
    const own = await timeSkippingEnvironment();
    t.after(() => own.teardown());
    const taskQueue = 'fanout-v2';
    const w = await Worker.create({
      connection: own.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...noop,
        ...({
          async routePage(ref: EventRef, req) {
            assert.equal(ref.eventType, 'order.created');
            pages.push({ cursor: req.cursor, limit: req.limit });
            const start = ['ep_a', 'ep_b', 'ep_gone'].map((endpointId) => ({ endpointId, run: 0 }));
            return { start, skipped: 0, cursor: null, counts: { ...NO_COUNTS, matched: 3, pending: 3 } };
          },
          async deliverAttempt(ref: DeliveryRef, attempt: number) {
            calls.push(`${ref.endpointId}#${attempt}`);
            if (ref.endpointId === 'ep_b') return result(attempt, { outcome: 'failed', statusCode: 400 });
            if (ref.endpointId === 'ep_gone') return result(attempt, { outcome: 'gone', statusCode: 410 });
            return result(attempt);
          },
          async deadLetter(ref, last) {
            dead.push(`${ref.endpointId}:${last.reason.split(':')[0]}`);
          },
        } satisfies Mocks),
      },
    });
    const outcomes = await w.runUntil(async () => {
      const fanout = await own.client.workflow.execute('eventWorkflow', {
        workflowId: 'event:evt_1',
        taskQueue,
        args: [{ eventId: 'evt_1', applicationId: 'app_1', eventType: 'order.created' }],
      });
      // The children outlive their parent (ParentClosePolicy.ABANDON): each ends on its own.
      const children: Array<{ status: string }> = [];
      for (const ep of ['ep_a', 'ep_b', 'ep_gone']) {
        children.push(await own.client.workflow.getHandle(`delivery:evt_1:${ep}`).result());
      }
      return { fanout, children: children.map((c) => c.status) };
    });
    assert.deepEqual(pages, [{ cursor: null, limit: 500 }], 'one page, the whole window');
    const { shape, phase, run, matched, started } = outcomes.fanout as Record<string, unknown>;
    assert.deepEqual(
      { shape, phase, run, matched, started },
      { shape: 2, phase: 'handed_off', run: 1, matched: 3, started: 3 },
    );
    assert.deepEqual(outcomes.children, ['delivered', 'dead_lettered', 'dead_lettered']);
    assert.deepEqual(calls.sort(), ['ep_a#1', 'ep_b#1', 'ep_gone#1'], 'a 400 and a 410 are not retried');
    assert.deepEqual(dead.sort(), ['ep_b:failed', 'ep_gone:gone']);
  });
});
