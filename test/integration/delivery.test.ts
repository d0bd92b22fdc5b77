import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  startedWorkflow,
  workflowResult,
  type TestStack,
  startStackAndReceiver,
  stopStackAndReceiver,
} from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

describe('delivery semantics on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => ({ stack, receiver } = await startStackAndReceiver()));
  after(() => stopStackAndReceiver(stack, receiver));

  async function endpoint(name: string, extra: Record<string, unknown> = {}) {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name,
      url: `${receiver.url}/${name}`,
      events: [`${name}.*`],
      ...extra,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string };
  }

  async function send(type: string) {
    const r = await api(stack, 'POST', '/api/events', { type, payload: { n: 1 } });
    assert.equal(r.status, 202);
    return r.body as { eventId: string; workflowId: string };
  }

  it('retries a 503 after the policy delay and records every attempt', async () => {
    const ep = await endpoint('flaky', {
      retryConfig: { strategy: 'fixed', baseDelay: 500, maxAttempts: 3 },
    });
    receiver.respond('/flaky', 503);
    const ev = await send('flaky.happened');
    await receiver.waitFor(1, { path: '/flaky' });
    receiver.respond('/flaky', 200);
    const delivery = await workflowResult(stack, `delivery:${ev.eventId}:${ep.id}`);
    assert.equal(delivery.status, 'delivered');
    assert.equal(delivery.attempts, 2);
    const [first, second] = receiver.to('/flaky');
    assert.equal(
      first!.headers['webhook-id'],
      second!.headers['webhook-id'],
      'the webhook-id is stable across retries',
    );
    assert.ok(second!.at - first!.at >= 450, `waited ${second!.at - first!.at} ms`);
    const attempts = await api(stack, 'GET', `/api/deliveries/delivery:${ev.eventId}:${ep.id}/attempts`);
    assert.deepEqual(
      attempts.body.data.map((a: any) => [a.run, a.attempt, a.outcome, a.statusCode, a.errorClass]),
      [
        [0, 1, 'retryable', 503, 'http'],
        [0, 2, 'delivered', 200, null],
      ],
    );
    assert.equal(attempts.body.data[0].responseBody, 'ok');
    assert.ok(attempts.body.data[0].responseHeaders['content-length']);
  });

  it('dead-letters a delivery whose attempts run out, and replays it with fresh attempts', async () => {
    const ep = await endpoint('down', {
      retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 2 },
      circuitBreaker: { threshold: 100 },
    });
    receiver.respond('/down', 500);
    const ev = await send('down.happened');
    const delivery = await workflowResult(stack, `delivery:${ev.eventId}:${ep.id}`);
    assert.equal(delivery.status, 'dead_lettered');
    const list = await api(stack, 'GET', `/api/dead-letters?endpointId=${ep.id}`);
    assert.equal(list.body.data.length, 1);
    const dead = list.body.data[0];
    assert.equal(dead.attempts, 2);
    assert.equal(dead.lastStatusCode, 500);
    assert.match(dead.reason, /^exhausted/);

    receiver.respond('/down', 200);
    const replay = await api(stack, 'POST', `/api/dead-letters/${dead.id}/replay`);
    assert.equal(replay.status, 202);
    assert.equal(replay.body.run, 1);
    const replayed = await workflowResult(stack, replay.body.workflowId);
    assert.equal(replayed.status, 'delivered');
    assert.equal(replayed.attempts, 1, 'a replay starts with fresh attempts');
    const again = await api(stack, 'POST', `/api/dead-letters/${dead.id}/replay`);
    assert.equal(again.status, 409, 'a dead letter is replayed once');
    const attempts = await api(stack, 'GET', `/api/deliveries/${replay.body.deliveryId}/attempts`);
    assert.deepEqual(
      attempts.body.data.map((a: any) => [a.run, a.attempt, a.statusCode]),
      [
        [0, 1, 500],
        [0, 2, 500],
        [1, 1, 200],
      ],
    );
    const after = await api(stack, 'GET', `/api/dead-letters?endpointId=${ep.id}`);
    assert.ok(after.body.data[0].replayedAt, 'the dead letter is marked as replayed');
  });

  it('replays a dead letter the moment it is listed, and keeps it while its delivery runs again', async () => {
    const ep = await endpoint('again', {
      retryConfig: { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 1 },
      circuitBreaker: { threshold: 100 },
    });
    receiver.respond('/again', 500);
    const ev = await send('again.happened');
    const deliveryId = `delivery:${ev.eventId}:${ep.id}`;
    let dead: { id: string } | undefined;
    const pending = async () =>
      (await api(stack, 'GET', `/api/dead-letters?endpointId=${ep.id}&replayed=false`)).body.data;
    await waitUntil(async () => Boolean((dead = (await pending())[0])), 30_000, 5);
    // Written in its run's last step: the run may still be open. The replay waits for it to close.
    const first = await api(stack, 'POST', `/api/dead-letters/${dead!.id}/replay`);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(first.body.run, 1);
    assert.equal((await workflowResult(stack, deliveryId)).status, 'dead_lettered');

    await waitUntil(async () => (await pending()).length === 1);
    const [second] = await pending();

    // Run 2 (an event replay) now waits a minute to retry; run 1's dead letter cannot start a run
    // beside it, and stays replayable instead of being lost.
    const patch = { retryConfig: { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 2 } };
    assert.equal((await api(stack, 'PATCH', `/api/endpoints/${ep.id}`, patch)).status, 200);
    await waitUntil(
      async () => (await api(stack, 'POST', `/api/events/${ev.eventId}/replay`)).status === 202,
    );
    await receiver.waitFor(3, { path: '/again' });
    const busy = await api(stack, 'POST', `/api/dead-letters/${second.id}/replay`);
    assert.equal(busy.status, 409);
    assert.match(busy.body.detail, /still running \(run 2\)/);
    const bulk = await api(stack, 'POST', '/api/dead-letters/replay', { endpointId: ep.id });
    assert.equal(bulk.body.replayed, 0);
    assert.deepEqual(
      bulk.body.skipped.map((s: { deadLetterId: string }) => s.deadLetterId),
      [second.id],
    );
    assert.deepEqual(
      (await pending()).map((d: { id: string }) => d.id),
      [second.id],
      'the refused replay claimed nothing',
    );
  });

  it('refuses an event replay while a dead letter’s replay of one of its deliveries runs', async () => {
    const ep = await endpoint('rerun', {
      retryConfig: { maxAttempts: 1 },
      circuitBreaker: { threshold: 100 },
    });
    receiver.respond('/rerun', 500);
    const ev = await send('rerun.happened');
    assert.equal((await workflowResult(stack, `delivery:${ev.eventId}:${ep.id}`)).status, 'dead_lettered');
    await workflowResult(stack, ev.workflowId); // the event's own workflow is done too
    const [dead] = (await api(stack, 'GET', `/api/dead-letters?endpointId=${ep.id}`)).body.data;
    const patch = { retryConfig: { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 2 } };
    assert.equal((await api(stack, 'PATCH', `/api/endpoints/${ep.id}`, patch)).status, 200);
    assert.equal((await api(stack, 'POST', `/api/dead-letters/${dead.id}/replay`)).status, 202);
    await receiver.waitFor(2, { path: '/rerun' }); // run 1 failed once and waits a minute
    const replay = await api(stack, 'POST', `/api/events/${ev.eventId}/replay`);
    assert.equal(replay.status, 409);
    assert.match(replay.body.detail, /^delivery delivery:.* is running$/);
    const event = await api(stack, 'GET', `/api/events/${ev.eventId}`);
    assert.equal(event.body.replays, 0, 'the refused replay is not counted');
  });

  it('stops on 410 Gone and disables the endpoint', async () => {
    const ep = await endpoint('gone');
    receiver.respond('/gone', 410);
    const ev = await send('gone.happened');
    const delivery = await workflowResult(stack, `delivery:${ev.eventId}:${ep.id}`);
    assert.equal(delivery.status, 'dead_lettered');
    assert.equal(receiver.to('/gone').length, 1, 'no retry after 410');
    const after = await api(stack, 'GET', `/api/endpoints/${ep.id}`);
    assert.equal(after.body.enabled, false);
    assert.match(after.body.disabledReason, /410/);
    const next = await send('gone.again');
    await workflowResult(stack, next.workflowId);
    assert.equal(receiver.to('/gone').length, 1, 'a disabled endpoint gets no new deliveries');
  });

  it('does not retry other 4xx answers', async () => {
    const ep = await endpoint('bad');
    receiver.respond('/bad', 422);
    const ev = await send('bad.happened');
    const delivery = await workflowResult(stack, `delivery:${ev.eventId}:${ep.id}`);
    assert.equal(delivery.status, 'dead_lettered');
    assert.equal(receiver.to('/bad').length, 1);
  });

  it('opens the circuit after consecutive failures, holds deliveries, and closes after a good probe', async () => {
    const ep = await endpoint('breaker', {
      // Retries 1 s apart: the breaker counts every failure it hears, open or not, and an attempt
      // sees the circuit open only once the breaker has published it (a workflow task and an
      // activity after the third failure); 300 ms apart, a busy machine can let a fourth 503
      // through first. A 5 s cooldown: the probe must not go before the receiver answers 200
      // below (the held delivery may be the oldest waiter, and take the probe).
      retryConfig: { strategy: 'fixed', baseDelay: 1000, maxAttempts: 20 },
      circuitBreaker: { threshold: 3, cooldown: 5000 },
    });
    receiver.respond('/breaker', 503);
    const first = await send('breaker.one');
    await receiver.waitFor(3, { path: '/breaker' });
    let circuit = await waitForCircuit(ep.id, 'open');
    assert.equal(circuit.body.consecutiveFailures, 3);
    const held = await send('breaker.two');
    const heldHandle = await startedWorkflow(stack, `delivery:${held.eventId}:${ep.id}`);
    await waitUntil(
      async () => ((await heldHandle.query('deliveryWorkflow.progress')) as any).status === 'waiting_circuit',
    );
    const sentWhileOpen = receiver.to('/breaker').length;
    receiver.respond('/breaker', 200);
    const [a, b] = await Promise.all([
      workflowResult(stack, `delivery:${first.eventId}:${ep.id}`),
      heldHandle.result(),
    ]);
    assert.equal(a.status, 'delivered');
    assert.equal(b.status, 'delivered');
    assert.equal(b.attempts, 1, 'the held delivery spent no attempt while waiting');
    assert.ok(a.attempts <= 5, `the first delivery did not burn its attempts: ${a.attempts}`);
    assert.ok(
      receiver.to('/breaker').length - sentWhileOpen <= 3,
      'only the probe and the released deliveries were sent',
    );
    circuit = await waitForCircuit(ep.id, 'closed');
    assert.equal(circuit.body.consecutiveFailures, 0);
  });

  it('delivers to a healthy busy endpoint without any round trip through its breaker', async () => {
    const ep = await endpoint('hot');
    const events = await Promise.all(Array.from({ length: 30 }, () => send('hot.happened')));
    await Promise.all(events.map((e) => workflowResult(stack, `delivery:${e.eventId}:${ep.id}`)));
    assert.equal(receiver.to('/hot').length, 30);
    await assert.rejects(
      stack.platform.temporal.workflow.getHandle(`endpoint:${ep.id}`).describe(),
      WorkflowNotFoundError,
      'no breaker workflow was ever needed',
    );
    const circuit = await api(stack, 'GET', `/api/endpoints/${ep.id}/circuit`);
    assert.equal(circuit.body.state, 'closed');
  });

  async function waitForCircuit(endpointId: string, state: string) {
    let last: Awaited<ReturnType<typeof api>> | undefined;
    await waitUntil(async () => {
      last = await api(stack, 'GET', `/api/endpoints/${endpointId}/circuit`);
      return last.body.state === state;
    });
    return last!;
  }
});
