// Records the golden histories under test/histories/ by running each scenario on a fresh real
// stack (dev server, PostgreSQL, worker, API) with a loopback receiver. Run it only after an
// intentional, patched workflow change: `npm run histories:record`, or only some scenarios:
// `npm run histories:record -- breaker` (fanout, retries, dead-letter, breaker).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startReceiver } from '../test/helpers/receiver.js';
import { api, startStack } from '../test/helpers/stack.js';
import { waitUntil } from '../test/helpers/wait.js';
import { exportHistory } from './history-json.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'histories');

const stack = await startStack();
const receiver = await startReceiver();
const client = stack.platform.temporal;

const only = process.argv.slice(2);
const wanted = (scenario: string) => only.length === 0 || only.includes(scenario);

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

async function save(type: string, scenario: string, workflowId: string): Promise<void> {
  const json = await exportHistory(
    stack.platform.temporalAddress,
    stack.config.temporalNamespace,
    workflowId,
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
  if (wanted('fanout')) await fanout();
  if (wanted('retries')) await retries();
  if (wanted('dead-letter')) await deadLetter();
  if (wanted('breaker')) await breaker();
} finally {
  await stack.stop();
  await receiver.close();
}

/** Success, and an event fanned out to two endpoints. */
async function fanout() {
  const ok = await endpoint('ok');
  await endpoint('ok2', { events: ['ok.*'] });
  const okEvent = await send('ok.created');
  await finished(`event:${okEvent}`);
  await save('eventWorkflow', 'fanout-two', `event:${okEvent}`);
  await save('deliveryWorkflow', 'success', `delivery:${okEvent}:${ok}`);
}

/** Retries: 503 then 200. */
async function retries() {
  const flaky = await endpoint('flaky', {
    retryConfig: { strategy: 'fixed', baseDelay: 300, maxAttempts: 4 },
  });
  receiver.respond('/flaky', 503);
  const flakyEvent = await send('flaky.created');
  await receiver.waitFor(2, { path: '/flaky' });
  receiver.respond('/flaky', 200);
  await finished(`delivery:${flakyEvent}:${flaky}`);
  await save('deliveryWorkflow', 'retries', `delivery:${flakyEvent}:${flaky}`);
}

/** Dead letter: attempts exhausted. */
async function deadLetter() {
  const down = await endpoint('down', {
    retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 2 },
    circuitBreaker: { threshold: 100 },
  });
  receiver.respond('/down', 500);
  const downEvent = await send('down.created');
  await finished(`delivery:${downEvent}:${down}`);
  await save('deliveryWorkflow', 'dead-letter', `delivery:${downEvent}:${down}`);
}

/**
 * Breaker: open after 2 failures, a second delivery waits (its waiter row), the probe
 * (`offerProbe`) closes it, `releaseWaiters` lets the second go. `.v2`: on the waiter table; the
 * histories without it were recorded before `breaker-waiter-table-1` and `delivery-waiter-row-1`.
 */
async function breaker() {
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
  await save('deliveryWorkflow', 'breaker-wait.v2', `delivery:${brk2}:${brk}`);
  await save('endpointWorkflow', 'open-probe-close.v2', `endpoint:${brk}`);
}
