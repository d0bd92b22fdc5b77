import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliveryProgressQuery } from '../../workflows/definitions.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, type TestStack } from '../helpers/stack.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

describe('worker processes against one Temporal and PostgreSQL', () => {
  let stack: TestStack;
  let receiver: Receiver;
  const workers: WorkerProcess[] = [];

  before(async () => {
    receiver = await startReceiver();
    stack = await startStack({ env: { HOOKLINE_ROLE: 'api' } });
  });

  after(async () => {
    for (const w of workers) await w.kill();
    await stack?.stop();
    await receiver?.close();
  });

  it('reports an API without any polling worker as degraded (it still accepts events), naming the worker', async () => {
    const res = await fetch(`${stack.platform.apiUrl}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      status: string;
      failing: string[];
      database: string;
      temporal: string;
    };
    assert.equal(body.status, 'degraded');
    assert.deepEqual(body.failing, ['worker']);
    assert.equal(body.database, 'ok');
    assert.equal(body.temporal, 'ok');
  });

  it('leaves the delivery to a new worker, which sends the next attempt on schedule, once', async () => {
    workers.push(await startWorkerProcess(stack, 'worker-1'));
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'restart',
      url: `${receiver.url}/restart`,
      events: ['*'],
      retryConfig: { strategy: 'fixed', baseDelay: 4000, maxAttempts: 5 },
    });
    receiver.respond('/restart', 503);
    const sent = await api(stack, 'POST', '/api/events', { type: 'order.created', payload: { id: 7 } });
    const [first] = await receiver.waitFor(1, { path: '/restart' });
    const deliveryId = `delivery:${sent.body.eventId}:${ep.body.id}`;
    const handle = stack.platform.temporal.workflow.getHandle(deliveryId);
    // Attempt 1 is recorded and the workflow sleeps on its 4 s timer: kill the worker now.
    for (let i = 0; (await handle.query(deliveryProgressQuery)).status !== 'retrying'; i++) {
      assert.ok(i < 100, 'the delivery never started its backoff wait');
      await new Promise((r) => setTimeout(r, 50));
    }
    const workerMetrics = await (await fetch(workers[0]!.metricsUrl)).text();
    assert.match(
      workerMetrics,
      /hookline_webhooks_sent_total\{endpoint="ep_[^"]+",status="503"\} 1/,
      'its own /metrics',
    );
    await workers[0]!.kill();
    receiver.respond('/restart', 200);
    workers.push(await startWorkerProcess(stack, 'worker-2'));

    const progress = await handle.result();
    assert.equal(progress.status, 'delivered');
    assert.equal(progress.attempts, 2, 'the new worker continued at attempt 2');

    const requests = receiver.to('/restart');
    assert.equal(requests.length, 2, 'nothing lost, nothing repeated');
    assert.ok(requests[1]!.at - first!.at >= 4000, `the timer held: ${requests[1]!.at - first!.at} ms`);
    assert.equal(requests[1]!.headers['webhook-id'], first!.headers['webhook-id']);
    const attempts = await api(stack, 'GET', `/api/deliveries/${deliveryId}/attempts`);
    assert.deepEqual(
      attempts.body.data.map((a: any) => [a.attempt, a.statusCode]),
      [
        [1, 503],
        [2, 200],
      ],
    );
  });

  it('serves high-priority events ahead of a backlog of low-priority ones', async () => {
    for (const w of workers.splice(0)) await w.stop(); // no worker: events queue up in Temporal
    await api(stack, 'POST', '/api/endpoints', {
      name: 'prio',
      url: `${receiver.url}/prio`,
      events: ['prio.*'],
    });
    const send = (priority: string, n: number) =>
      api(stack, 'POST', '/api/events', { type: 'prio.x', payload: { priority, n }, options: { priority } });
    for (let n = 0; n < 12; n++) assert.equal((await send('low', n)).status, 202);
    for (let n = 0; n < 4; n++) assert.equal((await send('high', n)).status, 202);

    // One slot each, so the worker takes tasks one at a time, in the order Temporal hands them out.
    workers.push(
      await startWorkerProcess(stack, 'worker-3', {
        HOOKLINE_WORKFLOW_TASK_SLOTS: '2',
        HOOKLINE_ACTIVITY_SLOTS: '1',
      }),
    );
    const arrivals = (await receiver.waitFor(16, { path: '/prio' })).map(
      (r) => JSON.parse(r.body).priority as string,
    );
    const rank = (p: string) => arrivals.flatMap((a, i) => (a === p ? [i] : []));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(
      mean(rank('high')) < mean(rank('low')),
      `high-priority events should arrive first on average: ${arrivals.join(' ')}`,
    );
  });

  it('lets a running delivery finish when its worker is stopped gracefully', async () => {
    workers.push(await startWorkerProcess(stack, 'worker-4'));
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'slow',
      url: `${receiver.url}/slow`,
      events: ['slow.*'],
    });
    receiver.delay('/slow', 2000);
    const sent = await api(stack, 'POST', '/api/events', { type: 'slow.x', payload: {} });
    await receiver.waitFor(1, { path: '/slow' });
    const stopping = Date.now();
    await workers.pop()!.stop(); // SIGTERM while the receiver takes 2 s to answer
    assert.ok(
      Date.now() - stopping >= 1000,
      `the worker waited for its delivery (${Date.now() - stopping} ms)`,
    );

    workers.push(await startWorkerProcess(stack, 'worker-5'));
    const handle = stack.platform.temporal.workflow.getHandle(`delivery:${sent.body.eventId}:${ep.body.id}`);
    const progress = await handle.result();
    assert.equal(progress.status, 'delivered');
    assert.equal(progress.attempts, 1, 'the attempt finished on the stopping worker, not sent again');
    assert.equal(receiver.to('/slow').length, 1);
  });
});
