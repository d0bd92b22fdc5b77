import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities, AttemptResult, DeliveryRef, EventRef } from '../../activities/index.js';
import { requireBinary } from '../../src/temporal/binaries.js';
import { installRuntime } from '../../src/temporal/worker.js';
import { workflowBundle } from '../helpers/stack.js';

const delivered = (attempt: number): AttemptResult => ({
  outcome: 'delivered',
  statusCode: 204,
  errorClass: null,
  errorMessage: null,
  durationMs: 3,
  retryAfter: null,
  attempt,
});

describe('workflows on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;

  before(async () => {
    installRuntime();
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: requireBinary('testServer') } },
    });
  });

  after(async () => {
    await env?.teardown();
  });

  it('starts one child delivery per matched endpoint with business ids and reports the fan-out', async () => {
    const calls: Array<{ ref: DeliveryRef; attempt: number }> = [];
    const statuses: string[] = [];
    const activities: Pick<Activities, 'matchEndpoints' | 'deliverAttempt' | 'recordEventOutcome'> = {
      async matchEndpoints(ref: EventRef) {
        assert.equal(ref.eventType, 'order.created');
        return ['ep_a', 'ep_b', 'ep_gone'];
      },
      async deliverAttempt(ref: DeliveryRef, attempt: number) {
        calls.push({ ref, attempt });
        if (ref.endpointId === 'ep_b') return { ...delivered(attempt), outcome: 'failed', statusCode: 400 };
        if (ref.endpointId === 'ep_gone') return { ...delivered(attempt), outcome: 'gone', statusCode: 410 };
        return delivered(attempt);
      },
      async recordEventOutcome(_eventId: string, status: string) {
        statuses.push(status);
      },
    };
    const taskQueue = `wf-${Date.now()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    const result = await worker.runUntil(
      env.client.workflow.execute('eventWorkflow', {
        workflowId: 'event:evt_1',
        taskQueue,
        args: [{ eventId: 'evt_1', applicationId: 'app_1', eventType: 'order.created' }],
      }),
    );
    assert.deepEqual(result, {
      matched: 3,
      delivered: 1,
      failed: 2,
      endpoints: { ep_a: 'delivered', ep_b: 'failed', ep_gone: 'gone' },
    });
    assert.deepEqual(calls.map((c) => [c.ref.endpointId, c.attempt]).sort(), [
      ['ep_a', 1],
      ['ep_b', 1],
      ['ep_gone', 1],
    ]);
    assert.deepEqual(statuses, ['partially_failed']);
    const child = await env.client.workflow.getHandle('delivery:evt_1:ep_b').describe();
    assert.equal(child.status.name, 'COMPLETED');
  });

  it('completes an event that matches no endpoint without starting children', async () => {
    const statuses: string[] = [];
    const taskQueue = `wf-none-${Date.now()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        matchEndpoints: async () => [],
        deliverAttempt: async () => assert.fail('no delivery expected'),
        recordEventOutcome: async (_id: string, status: string) => void statuses.push(status),
      },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute('eventWorkflow', {
        workflowId: 'event:evt_2',
        taskQueue,
        args: [{ eventId: 'evt_2', applicationId: 'app_1', eventType: 'user.created' }],
      }),
    );
    assert.deepEqual(result, { matched: 0, delivered: 0, failed: 0, endpoints: {} });
    assert.deepEqual(statuses, ['no_match']);
  });
});
