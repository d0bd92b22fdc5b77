import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '../../src/db/applications.js';
import { commandLine, isAlive, portHolder } from '../../src/infra/processes.js';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One Hookline installation: its data dir, ports and keys, kept across restarts. */
export interface Installation {
  dataDir: string;
  port: number;
  temporalPort: number;
  temporalUiPort: number;
  postgresPort: number;
  apiKey: string;
  adminToken: string;
  env: Record<string, string>;
}

export async function newInstallation(env: Record<string, string> = {}): Promise<Installation> {
  return {
    dataDir: await mkdtemp(path.join(tmpdir(), 'hookline-fault-')),
    port: await freePort(),
    temporalPort: await freePort(),
    temporalUiPort: await freePort(),
    postgresPort: await freePort(),
    apiKey: generateApiKey(),
    adminToken: generateApiKey(),
    env,
  };
}

/** `npm start` (or its Node process alone) as a real child process, on the installation. */
export interface HooklineProcess {
  child: ChildProcess;
  /** The PID a test signals: npm's, or Node's when started without npm. */
  pid: number;
  apiUrl: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Node's PID (npm's child when started through npm). */
  nodePid(): number;
}

export async function startHookline(
  inst: Installation,
  {
    viaNpm = false,
    waitRunning = true,
    ownGroup = false,
  }: {
    viaNpm?: boolean;
    waitRunning?: boolean;
    /** In a process group of its own, as in a terminal (a Ctrl-C signals the whole group). */
    ownGroup?: boolean;
  } = {},
): Promise<HooklineProcess> {
  const [cmd, args] = viaNpm
    ? ['npm', ['start', '--silent']]
    : [process.execPath, ['--import', 'tsx', 'src/main.ts']];
  const child = spawn(cmd, args as string[], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(inst.port),
      HOOKLINE_DATA_DIR: inst.dataDir,
      HOOKLINE_TEMPORAL_PORT: String(inst.temporalPort),
      HOOKLINE_TEMPORAL_UI_PORT: String(inst.temporalUiPort),
      HOOKLINE_POSTGRES_PORT: String(inst.postgresPort),
      HOOKLINE_BOOTSTRAP_API_KEY: inst.apiKey,
      HOOKLINE_ADMIN_TOKEN: inst.adminToken,
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true',
      HOOKLINE_LOG_LEVEL: 'warn',
      ...inst.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownGroup,
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const proc: HooklineProcess = {
    child,
    pid: child.pid!,
    apiUrl: `http://127.0.0.1:${inst.port}`,
    output: () => out,
    exited,
    nodePid: () => {
      if (!viaNpm) return child.pid!;
      const kids = childrenOf(child.pid!);
      if (kids.length !== 1) throw new Error(`npm ${child.pid} has children ${kids.join(', ')}`);
      return kids[0]!;
    },
  };
  if (waitRunning) {
    let gone = false;
    void exited.then(() => (gone = true));
    await waitUntil(async () => {
      if (gone) throw new Error(`Hookline exited while starting:\n${out}`);
      return out.includes('Hookline is running.');
    }, 120_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${out}`);
    });
  }
  return proc;
}

/** Direct children of a process. */
export function childrenOf(pid: number): number[] {
  return allPids().filter((p) => ppidOf(p) === pid);
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

function ppidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The embedded PostgreSQL's postmaster and the dev server of the installation, as they are now. */
export function embeddedPids(inst: Installation): { postgres?: number; temporal?: number } {
  const first = (file: string) => {
    try {
      const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
      return Number.isInteger(pid) && isAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const postgres = first(path.join(inst.dataDir, 'postgres', 'postmaster.pid'));
  const temporal = first(path.join(inst.dataDir, 'temporal', 'dev-server.pid'));
  return {
    ...(postgres ? { postgres } : {}),
    ...(temporal ? { temporal } : {}),
  };
}

/** The postmaster and its backends (to freeze and thaw the whole server). */
export function postgresTree(postmaster: number): number[] {
  return [postmaster, ...childrenOf(postmaster)];
}

/**
 * Every process of the installation still alive: anything whose command line names its data dir
 * (PostgreSQL, the dev server), a watchdog of one of `known`, any of `known`, and the holders of
 * its ports.
 */
export function leftovers(inst: Installation, known: number[] = []): string[] {
  const found = new Map<number, string>();
  const knownSet = new Set(known.map(String));
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const cmd = commandLine(pid);
    if (!cmd) continue;
    const text = cmd.join(' ');
    if (
      text.includes(inst.dataDir) ||
      knownSet.has(String(pid)) ||
      (text.includes('hookline-watchdog') && cmd.some((a) => knownSet.has(a)))
    )
      found.set(pid, text.slice(0, 160));
  }
  for (const port of [inst.port, inst.temporalPort, inst.temporalUiPort, inst.postgresPort]) {
    const holder = portHolder(port);
    if (holder && holder.pid !== process.pid)
      found.set(holder.pid, `port ${port}: ${holder.command.join(' ')}`);
  }
  return [...found].map(([pid, text]) => `${pid} ${text}`);
}

/** Kills (SIGCONT then SIGKILL) whatever of the installation is still alive: a test's `after`. */
export function killLeftovers(inst: Installation, known: number[] = []): void {
  for (const line of leftovers(inst, known)) {
    const pid = Number(line.split(' ')[0]);
    for (const s of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, s);
      } catch {
        // gone
      }
    }
  }
}

/** `webhook-id`s a loopback receiver got, as a set. */
export const webhookIds = (received: Array<{ headers: Record<string, unknown> }>) =>
  new Set(received.map((r) => String(r.headers['webhook-id'])));

/** JSON request with the installation's key. */
export async function call(
  proc: { apiUrl: string },
  inst: Installation,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<{ status: number; headers: Headers; body: any; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${proc.apiUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${inst.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed, ms: Date.now() - started };
}

/** A wait that does not keep the test process alive. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export interface Producer {
  /** Event ids answered 202/200 (accepted). */
  accepted: string[];
  /** Every answer: status, time to answer, Retry-After, when. */
  answers: Array<{ status: number; ms: number; retryAfter: string | null; at: number }>;
  /**
   * Stops sending new events (with a `total`: once all are sent); resolves once every event sent
   * is accepted (or throws for one that could not be).
   */
  stop(): Promise<void>;
}

/**
 * A producer like the SDK: `perSecond` new events a second, each with its own Idempotency-Key,
 * retried on 429/503 (after Retry-After, at most 5 s) and network errors until accepted.
 */
export function produce(
  proc: { apiUrl: string },
  inst: Installation,
  opts: { perSecond: number; total?: number; type?: string },
): Producer {
  const accepted: string[] = [];
  const answers: Producer['answers'] = [];
  const pending: Promise<void>[] = [];
  let sent = 0;
  let stopped = false;
  const one = async (n: number) => {
    const key = `fault-${process.pid}-${Date.now()}-${n}`;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const at = Date.now();
      try {
        const res = await call(
          proc,
          inst,
          'POST',
          '/api/events',
          { type: opts.type ?? 'fault.test', payload: { n } },
          { 'idempotency-key': key },
        );
        answers.push({ status: res.status, ms: res.ms, retryAfter: res.headers.get('retry-after'), at });
        if (res.status === 202 || res.status === 200) {
          accepted.push(res.body.eventId as string);
          return;
        }
        if (res.status !== 503 && res.status !== 429)
          throw new Error(`event ${n}: ${res.status} ${JSON.stringify(res.body)}`);
        const wait = Math.min(5, Number(res.headers.get('retry-after') ?? 1)) * 1000;
        await pause(wait);
      } catch (err) {
        if ((err as Error).message.startsWith(`event ${n}:`)) throw err;
        answers.push({ status: 0, ms: Date.now() - at, retryAfter: null, at });
        await pause(500);
      }
    }
  };
  const timer = setInterval(() => {
    if (stopped || (opts.total !== undefined && sent >= opts.total)) return;
    pending.push(one(sent++));
  }, 1000 / opts.perSecond);
  timer.unref(); // a test that failed midway must not be kept alive by its producer
  return {
    accepted,
    answers,
    async stop() {
      // With a total, every event is sent first.
      while (opts.total !== undefined && sent < opts.total) await new Promise((r) => setTimeout(r, 20));
      stopped = true;
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

/** Sends `signal` to each of `pids` that is still there. */
export const signalAll = (pids: number[], signal: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
};
