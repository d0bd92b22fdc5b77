// Records the golden histories under test/histories/ by running each scenario on a fresh real
// stack (dev server, PostgreSQL, worker, API) with a loopback receiver. Run it only after an
// intentional, patched workflow change: `npm run histories:record`, or with scenario names
// (`npm run histories:record -- reset-after-dead-letter`) to write only those files.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { newId } from '../src/db/ids.js';
import { requireBinary } from '../src/temporal/binaries.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { api, startStack } from '../test/helpers/stack.js';
import { waitUntil } from '../test/helpers/wait.js';
import { exportHistory } from './history-json.js';
import { PATCH_LEVEL } from '../workflows/contract.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'histories');

const only = new Set(process.argv.slice(2));
const stack = await startStack();
const receiver = await startReceiver();
const client = stack.platform.temporal;

const temporalCli = (...args: string[]) =>
  promisify(execFile)(requireBinary('cli'), [
    ...args,
    '--address',
    stack.platform.temporalAddress,
    '--namespace',
    stack.config.temporalNamespace,
  ]);

const until = (check: () => Promise<boolean>) => waitUntil(check, 60_000, 100);

async function finished(workflowId: string): Promise<void> {
  await until(() =>
    client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        (d) => d.status.name !== 'RUNNING',
        (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)),
      ),
  );
}

async function save(type: string, scenario: string, workflowId: string, runId?: string): Promise<void> {
  if (only.size > 0 && !only.has(scenario)) return;
  const json = await exportHistory(
    stack.platform.temporalAddress,
    stack.config.temporalNamespace,
    workflowId,
    runId,
  );
  await mkdir(path.join(OUT, type), { recursive: true });
  await writeFile(path.join(OUT, type, `${scenario}.json`), json);
  console.log(
    `recorded ${type}/${scenario} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`,
  );
}

async function endpoint(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api(stack, 'POST', '/api/endpoints', {
    name,
    url: `${receiver.url}/${name}`,
    events: [`${name}.*`],
    ...extra,
  });
  return r.body.id as string;
}

async function send(type: string): Promise<string> {
  return (await api(stack, 'POST', '/api/events', { type, payload: { scenario: type } })).body
    .eventId as string;
}

try {
  // Success, and an event fanned out to two endpoints.
  const ok = await endpoint('ok');
  await endpoint('ok2', { events: ['ok.*'] });
  const okEvent = await send('ok.created');
  await finished(`event:${okEvent}`);
  // (`fanout-two.json` is the same scenario recorded before `event-fanout-2`, `fanout-two.v2.json`
  // before PATCH_LEVEL 1: event and delivery workflows recorded since are named `*.p1`.)
  await save('eventWorkflow', 'fanout-two.p1', `event:${okEvent}`);

  // A wide event in miniature: 7 endpoints, a window of 3, so three runs chained by continue-as-new.
  for (let i = 0; i < 7; i++) await endpoint(`can${i}`, { events: ['can.wide'] });
  const canBase = await send('can.none');
  const canEvent = newId('evt');
  await stack.platform.db.query(
    `INSERT INTO events (id, application_id, type, body, options, tags, priority, dispatched_at)
     SELECT $2, application_id, 'can.wide', body, options, tags, priority, now() FROM events WHERE id = $1`,
    [canBase, canEvent],
  );
  const appId = (
    await stack.platform.db.query<{ application_id: string }>(
      'SELECT application_id FROM events WHERE id = $1',
      [canBase],
    )
  ).rows[0]!.application_id;
  const can = await client.workflow.start('eventWorkflow', {
    workflowId: `event:${canEvent}`,
    taskQueue: stack.config.temporalTaskQueue,
    args: [
      { eventId: canEvent, applicationId: appId, eventType: 'can.wide', window: 3, patchLevel: PATCH_LEVEL },
    ],
  });
  await client.workflow.getHandle(can.workflowId).result();
  const canRuns: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = "${can.workflowId}"` }))
    canRuns.push(w.runId);
  const byStart = await Promise.all(
    canRuns.map(async (runId) => ({
      runId,
      d: await client.workflow.getHandle(can.workflowId, runId).describe(),
    })),
  );
  byStart.sort((a, b) => a.d.startTime.getTime() - b.d.startTime.getTime());
  for (const [i, { runId }] of byStart.entries()) {
    await save('eventWorkflow', `fanout-can.p1.run${i + 1}`, can.workflowId, runId);
  }
  await save('deliveryWorkflow', 'success.p1', `delivery:${okEvent}:${ok}`);

  // Retries: 503 then 200.
  const flaky = await endpoint('flaky', {
    retryConfig: { strategy: 'fixed', baseDelay: 300, maxAttempts: 4 },
  });
  receiver.respond('/flaky', 503);
  const flakyEvent = await send('flaky.created');
  await receiver.waitFor(2, { path: '/flaky' });
  receiver.respond('/flaky', 200);
  await finished(`delivery:${flakyEvent}:${flaky}`);
  await save('deliveryWorkflow', 'retries.p1', `delivery:${flakyEvent}:${flaky}`);

  // Dead letter: attempts exhausted.
  const down = await endpoint('down', {
    retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 2 },
    circuitBreaker: { threshold: 100 },
  });
  receiver.respond('/down', 500);
  const downEvent = await send('down.created');
  await finished(`delivery:${downEvent}:${down}`);
  await save('deliveryWorkflow', 'dead-letter.p1', `delivery:${downEvent}:${down}`);

  // Breaker: open after 2 failures, a second delivery waits (its waiter row), the probe
  // (`offerProbe`) closes it, `releaseWaiters` lets the second go. `.v2`: on the waiter table; the
  // histories without it were recorded before `breaker-waiter-table-1` and `delivery-waiter-row-1`.
  const brk = await endpoint('brk', {
    retryConfig: { strategy: 'fixed', baseDelay: 300, maxAttempts: 10 },
    circuitBreaker: { threshold: 2, cooldown: 1500 },
  });
  receiver.respond('/brk', 503);
  const brk1 = await send('brk.one');
  await receiver.waitFor(2, { path: '/brk' });
  await until(async () => (await api(stack, 'GET', `/api/endpoints/${brk}/circuit`)).body.state === 'open');
  const waiting = (eventId: string) =>
    until(async () =>
      client.workflow
        .getHandle(`delivery:${eventId}:${brk}`)
        .query('deliveryWorkflow.progress')
        .then(
          (p) => (p as { status: string }).status === 'waiting_circuit',
          () => false,
        ),
    );
  // The first delivery waits first, so it is the oldest waiter and gets the probe; the second
  // gets `go` when the probe closes the circuit.
  await waiting(brk1);
  const brk2 = await send('brk.two');
  await waiting(brk2);
  receiver.respond('/brk', 200);
  await finished(`delivery:${brk1}:${brk}`);
  await finished(`delivery:${brk2}:${brk}`);
  await until(async () => (await api(stack, 'GET', `/api/endpoints/${brk}/circuit`)).body.state === 'closed');
  await save('deliveryWorkflow', 'breaker-wait.p1', `delivery:${brk2}:${brk}`);
  await save('endpointWorkflow', 'open-probe-close.v2', `endpoint:${brk}`);

  // #17: 500 ×2 → dead letter; the receiver is fixed; an operator resets the delivery; the new run.
  const fix = await endpoint('fix', {
    retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 2 },
    circuitBreaker: { threshold: 100 },
  });
  receiver.respond('/fix', 500);
  const fixEvent = await send('fix.created');
  await finished(`delivery:${fixEvent}:${fix}`);
  receiver.respond('/fix', 200);
  await temporalCli(
    'workflow',
    'reset',
    '--workflow-id',
    `delivery:${fixEvent}:${fix}`,
    '--type',
    'LastWorkflowTask',
    '--reason',
    'receiver fixed',
  );
  await finished(`delivery:${fixEvent}:${fix}`);
  await save('deliveryWorkflow', 'reset-after-dead-letter.p1', `delivery:${fixEvent}:${fix}`);

  // #17: cancelled while it waits 60 s between attempts: the cleanup runs, the workflow ends Canceled.
  const wait = await endpoint('wait', {
    retryConfig: { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 3 },
    circuitBreaker: { threshold: 100 },
  });
  receiver.respond('/wait', 500);
  const waitEvent = await send('wait.created');
  await receiver.waitFor(1, { path: '/wait' });
  await temporalCli('workflow', 'cancel', '--workflow-id', `delivery:${waitEvent}:${wait}`);
  await finished(`delivery:${waitEvent}:${wait}`);
  await save('deliveryWorkflow', 'cancelled-while-retrying.p1', `delivery:${waitEvent}:${wait}`);

  // Throttle (issue #15): three events to an endpoint limited to 2/s, burst 1. The ones that
  // must wait answer `throttled`, sleep on a timer, then ask again `reserved` and send: one
  // attempt each. The delivery that waited longest is saved.
  const thr = await endpoint('thr', { rateLimit: { perSecond: 2, burst: 1 } });
  const thrEvents = [await send('thr.one'), await send('thr.two'), await send('thr.three')];
  let thrSaved = { id: '', timers: -1 };
  for (const eventId of thrEvents) {
    const id = `delivery:${eventId}:${thr}`;
    await finished(id);
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const timers = events.filter((e) => e.timerStartedEventAttributes).length;
    if (timers > thrSaved.timers) thrSaved = { id, timers };
  }
  await save('deliveryWorkflow', 'throttled.p1', thrSaved.id);

  // Retention: an expired event goes with its delivery and attempt (one pass of the activity).
  await stack.platform.db.query(`UPDATE events SET created_at = now() - interval '40 days' WHERE id = $1`, [
    okEvent,
  ]);
  const purge = await client.workflow.start('retentionWorkflow', {
    workflowId: 'hookline-retention-golden',
    taskQueue: stack.config.temporalTaskQueue,
    args: [{ defaultDays: 30 }],
  });
  await purge.result();
  await save('retentionWorkflow', 'purge', purge.workflowId);
} finally {
  await stack.stop();
  await receiver.close();
}
