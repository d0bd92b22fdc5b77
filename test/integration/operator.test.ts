// #17: what an operator does to a delivery in Temporal's CLI shows in Hookline's API, on the real
// stack (dev server, PostgreSQL, worker, API) with a loopback receiver.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { tryReconcilerLock } from '../../src/db/reconciler.js';
import { reconcileDeliveryRun, reconcileOnce } from '../../src/reconcile/closed-runs.js';
import { requireBinary } from '../../src/temporal/binaries.js';
import { searchAttributes } from '../../workflows/contract.js';
import type { Receiver } from '../helpers/receiver.js';
import { startReceiver } from '../helpers/receiver.js';
import { api, startStack, workflowResult, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

describe('operator actions in Temporal keep Hookline true', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => {
    receiver = await startReceiver();
    stack = await startStack({ env: { HOOKLINE_RECONCILE_INTERVAL_MS: '500' } });
  });
  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  /** The project's `temporal` CLI against the stack's dev server, as an operator runs it. */
  const temporal = async (...args: string[]) =>
    (
      await promisify(execFile)(requireBinary('cli'), [
        ...args,
        '--address',
        stack.platform.temporalAddress,
        '--namespace',
        stack.config.temporalNamespace,
      ])
    ).stdout;

  async function endpoint(name: string, retryConfig: Record<string, unknown>) {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name,
      url: `${receiver.url}/${name}`,
      events: [`${name}.*`],
      retryConfig,
      circuitBreaker: { threshold: 100 },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }

  async function send(type: string) {
    const r = await api(stack, 'POST', '/api/events', { type, payload: { n: 1 } });
    assert.equal(r.status, 202);
    return r.body.eventId as string;
  }

  const eventOf = async (id: string) => (await api(stack, 'GET', `/api/events/${id}`)).body;
  const deliveryOf = async (eventId: string, deliveryId: string) =>
    ((await eventOf(eventId)).deliveries as Array<Record<string, any>>).find((d) => d.id === deliveryId);
  const deadLetters = async (endpointId: string, extra = '') =>
    (await api(stack, 'GET', `/api/dead-letters?endpointId=${endpointId}${extra}`)).body.data as Array<
      Record<string, any>
    >;

  it('a delivery reset after its dead letter records the new run beside the old, delivers, and resolves the dead letter as "reset"', async () => {
    const ep = await endpoint('reset', { strategy: 'fixed', baseDelay: 500, maxAttempts: 2 });
    receiver.respond('/reset', 500);
    const eventId = await send('reset.happened');
    const deliveryId = `delivery:${eventId}:${ep}`;
    assert.equal((await workflowResult(stack, deliveryId)).status, 'dead_lettered');
    await waitUntil(async () => (await eventOf(eventId)).status === 'failed', 10_000);
    const [dead] = await deadLetters(ep);
    assert.equal(dead!.kind, 'failed');
    assert.equal(dead!.resolvedAt, null);

    receiver.respond('/reset', 200);
    await temporal(
      'workflow',
      'reset',
      '--workflow-id',
      deliveryId,
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'receiver fixed',
    );
    await receiver.waitFor(3, { path: '/reset' });
    await waitUntil(async () => (await deliveryOf(eventId, deliveryId))?.status === 'delivered', 15_000);

    const attempts = (await api(stack, 'GET', `/api/deliveries/${deliveryId}/attempts`)).body.data as Array<
      Record<string, any>
    >;
    assert.deepEqual(
      attempts.map((a) => [a.run, a.attempt, a.statusCode]),
      [
        [0, 1, 500],
        [0, 2, 500],
        [0, 1, 200],
      ],
      'the reset run attempts beside the old run',
    );
    assert.equal(attempts[0]!.workflowRunId, attempts[1]!.workflowRunId);
    assert.notEqual(attempts[2]!.workflowRunId, attempts[0]!.workflowRunId);
    const resetRun = (await stack.platform.temporal.workflow.getHandle(deliveryId).describe()).runId;
    assert.equal(attempts[2]!.workflowRunId, resetRun);

    const [resolved] = await deadLetters(ep);
    assert.equal(resolved!.id, dead!.id);
    assert.ok(resolved!.resolvedAt, 'the dead letter is resolved');
    assert.equal(resolved!.resolution, 'delivered');
    assert.equal(resolved!.resolvedVia, 'reset');
    assert.deepEqual(await deadLetters(ep, '&resolved=false'), []);
    assert.equal((await deadLetters(ep, '&resolved=true')).length, 1);
    const replay = await api(stack, 'POST', `/api/dead-letters/${dead!.id}/replay`);
    assert.equal(replay.status, 409, 'a resolved dead letter is not replayed');
    await waitUntil(async () => (await eventOf(eventId)).status === 'delivered', 10_000);
  });

  it('a delivery cancelled while it waits between attempts becomes cancelled, in Temporal and in the API, and its dead letter replays', async () => {
    const ep = await endpoint('cancel', { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 3 });
    receiver.respond('/cancel', 500);
    const eventId = await send('cancel.happened');
    const deliveryId = `delivery:${eventId}:${ep}`;
    await receiver.waitFor(1, { path: '/cancel' });
    await waitUntil(async () => (await deliveryOf(eventId, deliveryId))?.status === 'retrying', 10_000);

    await temporal('workflow', 'cancel', '--workflow-id', deliveryId);
    const handle = stack.platform.temporal.workflow.getHandle(deliveryId);
    await waitUntil(async () => (await handle.describe()).status.name === 'CANCELLED', 10_000);
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(searchAttributes.deliveryStatus), 'cancelled');

    const delivery = await deliveryOf(eventId, deliveryId);
    assert.equal(delivery!.status, 'cancelled');
    assert.match(delivery!.stoppedBy, /temporal-cli/, 'who cancelled it: the CLI identity');
    assert.match(delivery!.stopReason, /^cancelled: no reason given \(by temporal-cli/);
    await waitUntil(async () => (await eventOf(eventId)).status === 'failed', 10_000);
    const [dead] = await deadLetters(ep);
    assert.equal(dead!.kind, 'cancelled');
    assert.equal(dead!.attempts, 1);
    assert.equal(dead!.lastStatusCode, 500);
    assert.equal(dead!.stoppedBy, delivery!.stoppedBy);
    assert.equal(dead!.workflowRunId, described.runId);
    const metrics = await (await fetch(`${stack.platform.apiUrl}/metrics`)).text();
    assert.match(metrics, /hookline_deliveries_stopped_total\{[^}]*kind="cancelled"[^}]*\} 1\n/);

    receiver.respond('/cancel', 200);
    const replay = await api(stack, 'POST', `/api/dead-letters/${dead!.id}/replay`);
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    assert.equal((await workflowResult(stack, deliveryId)).status, 'delivered');
    await waitUntil(async () => (await eventOf(eventId)).status === 'delivered', 10_000);
    const [resolved] = await deadLetters(ep);
    assert.equal(resolved!.resolution, 'delivered');
    assert.equal(resolved!.resolvedVia, 'replay');
  });

  it('a delivery terminated while it waits between attempts becomes terminated with the reason and the CLI identity, gets a replayable dead letter, and the event follows', async () => {
    const ep = await endpoint('terminate', { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 3 });
    receiver.respond('/terminate', 500);
    const eventId = await send('terminate.happened');
    const deliveryId = `delivery:${eventId}:${ep}`;
    await receiver.waitFor(1, { path: '/terminate' });
    await waitUntil(async () => (await deliveryOf(eventId, deliveryId))?.status === 'retrying', 10_000);
    const runId = (await stack.platform.temporal.workflow.getHandle(deliveryId).describe()).runId;

    await temporal('workflow', 'terminate', '--workflow-id', deliveryId, '--reason', 'operator gave up');
    await waitUntil(async () => (await deliveryOf(eventId, deliveryId))?.status === 'terminated', 10_000);
    const delivery = await deliveryOf(eventId, deliveryId);
    assert.match(delivery!.stopReason, /^terminated: operator gave up \(by temporal-cli/);
    assert.match(delivery!.stoppedBy, /temporal-cli/);
    await waitUntil(async () => (await eventOf(eventId)).status === 'failed', 10_000);
    const [dead] = await deadLetters(ep);
    assert.equal(dead!.kind, 'terminated');
    assert.equal(dead!.workflowRunId, runId);
    assert.equal(dead!.stoppedBy, delivery!.stoppedBy);
    assert.equal(dead!.attempts, 1);

    // Seen again (the next passes, a second reconciler): handled once.
    const deps = {
      db: stack.platform.db,
      temporal: stack.platform.temporal,
      taskQueue: stack.config.temporalTaskQueue,
    };
    assert.equal(
      await reconcileDeliveryRun(deps, { workflowId: deliveryId, runId, status: 'TERMINATED' }),
      'skipped',
    );
    const again = await reconcileOnce(deps);
    assert.ok(again.seen >= 1, 'the pass saw the terminated run');
    assert.equal(again.recorded, 0);
    assert.equal((await deadLetters(ep)).length, 1);
    const other = await stack.platform.db.connect();
    try {
      assert.equal(await tryReconcilerLock(other), false, 'one reconciler at a time');
    } finally {
      other.release();
    }
    const metrics = await (await fetch(`${stack.platform.apiUrl}/metrics`)).text();
    assert.match(metrics, /hookline_deliveries_stopped_total\{[^}]*kind="terminated"[^}]*\} 1\n/);

    receiver.respond('/terminate', 200);
    const replay = await api(stack, 'POST', `/api/dead-letters/${dead!.id}/replay`);
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    assert.equal((await workflowResult(stack, deliveryId)).status, 'delivered');
    await waitUntil(async () => (await eventOf(eventId)).status === 'delivered', 10_000);
  });

  it('a delivery reset while it runs is not reported as terminated', async () => {
    const ep = await endpoint('rerun', { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 3 });
    receiver.respond('/rerun', 500);
    const eventId = await send('rerun.happened');
    const deliveryId = `delivery:${eventId}:${ep}`;
    await receiver.waitFor(1, { path: '/rerun' });
    await waitUntil(async () => (await deliveryOf(eventId, deliveryId))?.status === 'retrying', 10_000);
    const oldRun = (await stack.platform.temporal.workflow.getHandle(deliveryId).describe()).runId;

    receiver.respond('/rerun', 200);
    await temporal(
      'workflow',
      'reset',
      '--workflow-id',
      deliveryId,
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'retry now',
    );
    assert.equal((await workflowResult(stack, deliveryId)).status, 'delivered');
    const deps = {
      db: stack.platform.db,
      temporal: stack.platform.temporal,
      taskQueue: stack.config.temporalTaskQueue,
    };
    assert.equal(
      await reconcileDeliveryRun(deps, { workflowId: deliveryId, runId: oldRun, status: 'TERMINATED' }),
      'skipped',
    );
    await new Promise((r) => setTimeout(r, 1_500)); // three reconciler intervals
    assert.equal((await deliveryOf(eventId, deliveryId))!.status, 'delivered');
    assert.deepEqual(await deadLetters(ep), []);
    await waitUntil(async () => (await eventOf(eventId)).status === 'delivered', 10_000);
  });

  it('a batch reset by search attribute delivers every dead-lettered delivery of an endpoint and resolves their dead letters', async () => {
    const ep = await endpoint('batch', { strategy: 'fixed', baseDelay: 200, maxAttempts: 1 });
    receiver.respond('/batch', 500);
    const events = [await send('batch.one'), await send('batch.two')];
    for (const e of events)
      assert.equal((await workflowResult(stack, `delivery:${e}:${ep}`)).status, 'dead_lettered');
    const query = `HooklineEndpointId = "${ep}" AND HooklineDeliveryStatus = "dead_lettered"`;
    await waitUntil(
      async () => (await temporal('workflow', 'count', '--query', query)).includes('2'),
      10_000,
    );

    receiver.respond('/batch', 200);
    await temporal(
      'workflow',
      'reset',
      '--query',
      query,
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'endpoint fixed',
      '--yes',
    );
    for (const e of events) {
      await waitUntil(async () => (await eventOf(e)).status === 'delivered', 20_000);
    }
    const letters = await deadLetters(ep);
    assert.equal(letters.length, 2);
    for (const l of letters) assert.deepEqual([l.resolution, l.resolvedVia], ['delivered', 'reset']);
  });

  it('a batch cancel by event cancels its running deliveries, each with a replayable dead letter', async () => {
    const a = await endpoint('bulka', { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 3 });
    const b = await api(stack, 'POST', '/api/endpoints', {
      name: 'bulkb',
      url: `${receiver.url}/bulkb`,
      events: ['bulka.*'],
      retryConfig: { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 3 },
      circuitBreaker: { threshold: 100 },
    });
    receiver.respond('/bulka', 500);
    receiver.respond('/bulkb', 500);
    const eventId = await send('bulka.happened');
    const ids = [`delivery:${eventId}:${a}`, `delivery:${eventId}:${b.body.id}`];
    await waitUntil(async () => {
      const ds = (await eventOf(eventId)).deliveries as Array<Record<string, any>>;
      return ds.length === 2 && ds.every((d) => d.status === 'retrying');
    }, 10_000);
    const query = `WorkflowType = "deliveryWorkflow" AND HooklineEventId = "${eventId}" AND ExecutionStatus = "Running"`;
    await waitUntil(
      async () => (await temporal('workflow', 'count', '--query', query)).includes('2'),
      10_000,
    );

    await temporal('workflow', 'cancel', '--query', query, '--reason', 'bad event', '--yes');
    for (const id of ids) {
      await waitUntil(async () => (await deliveryOf(eventId, id))?.status === 'cancelled', 20_000);
      // Measured: the server's batcher sends the cancel requests without the batch's reason, under
      // its own identity; the reason stays on the batch job.
      assert.match((await deliveryOf(eventId, id))!.stopReason, /^cancelled: /);
      assert.ok((await deliveryOf(eventId, id))!.stoppedBy);
    }
    await waitUntil(async () => (await eventOf(eventId)).status === 'failed', 10_000);
    assert.deepEqual(
      (await deadLetters(a)).map((l) => l.kind),
      ['cancelled'],
    );
  });
});
