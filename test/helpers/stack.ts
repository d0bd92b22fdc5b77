import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FINAL_EVENT_STATUSES, type EventStatus } from '../../src/domain/vocabulary.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config.js';
import { generateApiKey } from '../../src/db/applications.js';
import { createLogger } from '../../src/logger.js';
import { startPlatform, type Platform } from '../../src/platform.js';
import { WORKFLOWS_PATH } from '../../src/temporal/worker.js';
import { freePort } from './ports.js';
import { startReceiver, type Receiver } from './receiver.js';
import { waitUntil } from './wait.js';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string) {
    process.stderr.write(`${message}\n`);
  },
};

export interface TestStack {
  platform: Platform;
  config: Config;
  apiKey: string;
  dataDir: string;
  /** Stops the platform; removes the data dir unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

/**
 * The real platform (embedded PostgreSQL, Temporal dev server, worker, API) on random free ports
 * in a fresh data dir, or in `dataDir` to start again on earlier data.
 */
export async function startStack(
  opts: {
    dataDir?: string;
    apiKey?: string;
    env?: Record<string, string>;
    logs?: string[];
    /** Every log line at `level` and above goes to `write` (the benchmark counts them). */
    logSink?: { level: 'info' | 'warn'; write: (line: string) => void };
    /** Ends a start that waits for an external dependency (it then rejects). */
    stopping?: AbortSignal;
  } = {},
): Promise<TestStack> {
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'hookline-test-')));
  const apiKey = opts.apiKey ?? generateApiKey();
  const config = loadConfig({
    PORT: '0',
    HOOKLINE_DATA_DIR: dataDir,
    HOOKLINE_TEMPORAL_PORT: String(await freePort()),
    HOOKLINE_TEMPORAL_UI_PORT: String(await freePort()),
    HOOKLINE_POSTGRES_PORT: String(await freePort()),
    HOOKLINE_BOOTSTRAP_API_KEY: apiKey,
    HOOKLINE_ADMIN_TOKEN: generateApiKey(),
    HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true',
    HOOKLINE_TASK_QUEUE: `hookline-test-${process.pid}`,
    ...opts.env,
  });
  const logs = opts.logs;
  const log = logs
    ? createLogger('debug', { write: (line: string) => void logs.push(line) })
    : opts.logSink
      ? createLogger(opts.logSink.level, { write: opts.logSink.write })
      : createLogger(process.env.HOOKLINE_TEST_LOG_LEVEL === 'debug' ? 'debug' : 'warn');
  const platform = await startPlatform({
    config,
    log,
    workflowBundle: await workflowBundle(),
    ...(opts.stopping ? { stopping: opts.stopping } : {}),
  }).catch(async (err: unknown) => {
    // A failed start stops what it started; the data dir made here goes too.
    if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    platform,
    config,
    apiKey,
    dataDir,
    async stop({ keepData = false } = {}) {
      await platform.stop();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON request to the stack's API with its key. */
export async function api(
  stack: TestStack,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${stack.platform.apiUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * The handle of a workflow once it exists: a child delivery appears only after its event
 * workflow has started it, so a test waits for it rather than racing it.
 */
export async function startedWorkflow(stack: TestStack, workflowId: string) {
  const handle = stack.platform.temporal.workflow.getHandle(workflowId);
  await waitUntil(() =>
    handle.describe().then(
      () => true,
      (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)),
    ),
  );
  return handle;
}

/**
 * The result of a workflow, once it exists and has finished. For an event's workflow, which hands
 * its deliveries off and closes (patch event-fanout-2), the result is the event's outcome once
 * every delivery has settled, read from PostgreSQL in the shape the workflow used to return:
 * `{matched, delivered, failed, endpoints: {endpointId: status}}`.
 */
export async function workflowResult(stack: TestStack, workflowId: string): Promise<any> {
  const result = await (await startedWorkflow(stack, workflowId)).result();
  return workflowId.startsWith('event:') ? eventOutcome(stack, workflowId.slice('event:'.length)) : result;
}

/** The event's outcome once its status is final (its deliveries settled). */
export async function eventOutcome(
  stack: TestStack,
  eventId: string,
): Promise<{ matched: number; delivered: number; failed: number; endpoints: Record<string, string> }> {
  const db = stack.platform.db;
  await waitUntil(
    async () =>
      FINAL_EVENT_STATUSES.has(
        (await db.query<{ status: EventStatus }>('SELECT status FROM events WHERE id = $1', [eventId]))
          .rows[0]?.status ?? 'accepted',
      ),
    60_000,
    50,
  );
  const { rows } = await db.query<{ endpoint_id: string; status: string }>(
    'SELECT endpoint_id, status FROM deliveries WHERE event_id = $1',
    [eventId],
  );
  const endpoints = Object.fromEntries(rows.map((r) => [r.endpoint_id, r.status]));
  const delivered = rows.filter((r) => r.status === 'delivered').length;
  return { matched: rows.length, delivered, failed: rows.length - delivered, endpoints };
}

/** The usual fixture of a test file: a loopback receiver and a stack on fresh data. */
export async function startStackAndReceiver(
  env?: Record<string, string>,
): Promise<{ stack: TestStack; receiver: Receiver }> {
  const receiver = await startReceiver();
  return { stack: await startStack(env ? { env } : {}), receiver };
}

/** Stops what `startStackAndReceiver` started, whatever of it did start. */
export async function stopStackAndReceiver(stack?: TestStack, receiver?: Receiver): Promise<void> {
  await stack?.stop();
  await receiver?.close();
}
