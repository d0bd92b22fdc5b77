import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { own, reclaim, watchdog } from '../infra/processes.js';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import { searchAttributes } from '../../workflows/contract.js';
import { requireBinary } from './binaries.js';

export interface DevServerOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** How long the namespace keeps closed workflows (HOOKLINE_RETENTION_DAYS); set at every start. */
  retentionDays?: number;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The server's process (benchmarks read its CPU time). */
  pid: number;
  /** Resolves with a reason when the server exits (after `stop()` too). */
  exited: Promise<string>;
  stop(): Promise<void>;
}

/** `--search-attribute Name=Type` for every attribute of DESIGN.md. */
export function searchAttributeArgs(): string[] {
  return Object.values(searchAttributes).flatMap((key) => [
    '--search-attribute',
    `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
  ]);
}

/**
 * Runs `temporal server start-dev` with its state in a SQLite file under the data dir and the
 * Web UI on, and waits until its frontend answers. Stopping it waits for the process to exit.
 *
 * The server runs in its own session (a Ctrl-C to the terminal reaches Hookline only, which
 * stops it in order) under a watchdog that stops it if Hookline dies. Its pid is kept in
 * `dev-server.pid`, so a leftover of an earlier run (same binary, same SQLite file, still alive)
 * is recognised and stopped before a new one starts; a foreign process on one of its ports is
 * reported by name.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const exe = requireBinary('cli');
  await mkdir(opts.dataDir, { recursive: true });
  const dbFile = path.join(opts.dataDir, 'temporal.sqlite');
  const pidFile = path.join(opts.dataDir, 'dev-server.pid');
  const recorded = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
  await reclaim({
    pid: Number.isInteger(recorded) ? recorded : undefined,
    ports: [opts.port, opts.uiPort],
    isOurs: (command) => command.includes('start-dev') && command.includes(dbFile),
    stopSignal: 'SIGTERM',
    hint: 'stop it, or set HOOKLINE_TEMPORAL_PORT / HOOKLINE_TEMPORAL_UI_PORT, or TEMPORAL_ADDRESS',
    ...(opts.log ? { log: opts.log } : {}),
  });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--namespace',
    opts.namespace,
    '--db-filename',
    dbFile,
    // WAL keeps readers off the writer's back; NORMAL is durable across process crashes.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    '--log-level',
    'warn',
    '--ui-disable-news-fetch',
    ...searchAttributeArgs(),
    // One partition per task queue: on a single-host server, more partitions only forward tasks
    // between themselves (measured in docs/benchmarks.md).
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    // A workflow whose tasks fail three times in a row is flagged (TemporalReportedProblems), which
    // Hookline counts in /health and hookline_workflows_failing_tasks.
    '--dynamic-config-value',
    'system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=3',
    // Task-queue priority: a wide event's deliveries queue one level lower than a narrow event's
    // (workflows/event.ts), so a 10,000-wide fan-out does not hold back other events.
    '--dynamic-config-value',
    'matching.useNewMatcher=true',
  ];
  const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`)),
  );
  child.once('error', () => undefined);
  if (!child.pid) throw new Error(`The Temporal dev server could not be started (${exe})`);
  own(child, 'SIGTERM');
  const dog = watchdog(child.pid, 'SIGTERM');
  await writeFile(pidFile, `${child.pid}\n`);
  void exited.then(async () => {
    dog.dispose();
    const still = await readFile(pidFile, 'utf8').catch(() => '');
    if (Number.parseInt(still, 10) === child.pid) await rm(pidFile, { force: true });
  });
  // The first lines say why it failed (a Go panic's reason comes before its stack); the last
  // lines say where it stopped. Keep both, bounded.
  let head = '';
  let tail = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    const room = 3000 - head.length;
    head += text.slice(0, room);
    tail = (tail + text.slice(room)).slice(-2000);
  };
  const output = () => (tail ? `${head}\n…\n${tail}` : head);
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const address = `127.0.0.1:${opts.port}`;
  try {
    await waitForFrontend(address, child, exited, 60_000);
    if (opts.retentionDays) await setNamespaceRetention(address, opts.namespace, opts.retentionDays);
  } catch (err) {
    await stopChild(child, exited);
    throw new Error(`The Temporal dev server did not start: ${(err as Error).message}\n${output().trim()}`, {
      cause: err,
    });
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    pid: child.pid,
    exited,
    stop: () => stopChild(child, exited),
  };
}

async function waitForFrontend(
  address: string,
  child: ChildProcess,
  exited: Promise<string>,
  timeoutMs: number,
): Promise<void> {
  let reason: string | undefined;
  void exited.then((r) => (reason = r));
  await waitForTemporalFrontend(
    address,
    () =>
      reason !== undefined || child.exitCode !== null
        ? `it exited (${reason ?? `exit code ${child.exitCode}`})`
        : undefined,
    timeoutMs,
  );
}

/**
 * Waits until a Temporal frontend at `address` answers GetSystemInfo, polling every `pollMs`.
 * Fails at once when `gone()` says why the server's process ended, else after `timeoutMs`.
 */
export async function waitForTemporalFrontend(
  address: string,
  gone: () => string | undefined,
  timeoutMs: number,
  pollMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = gone();
    if (why !== undefined) throw new Error(why);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`no answer on ${address} after ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/**
 * `temporal server start-dev` has no retention flag (its namespaces keep closed workflows for a
 * day): the namespace is updated once the frontend answers, so Temporal forgets a workflow when
 * Hookline deletes its event, not 29 days before.
 */
async function setNamespaceRetention(address: string, namespace: string, days: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: msToTs(days * 86_400_000) },
    });
  } finally {
    await connection.close();
  }
}

/** SIGTERM, then SIGKILL after 5 s: a dev server that does not stop must not hold up shutdown. */
async function stopChild(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
