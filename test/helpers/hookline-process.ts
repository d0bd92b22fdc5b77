import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '../../src/db/applications.js';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The fixed settings of one Hookline installation: restarts reuse them (same data, same ports). */
export interface Installation {
  dataDir: string;
  env: Record<string, string>;
  apiKey: string;
}

export async function newInstallation(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Installation> {
  const apiKey = generateApiKey();
  return {
    dataDir,
    apiKey,
    env: {
      PORT: String(await freePort()),
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_TEMPORAL_PORT: String(await freePort()),
      HOOKLINE_TEMPORAL_UI_PORT: String(await freePort()),
      HOOKLINE_POSTGRES_PORT: String(await freePort()),
      HOOKLINE_BOOTSTRAP_API_KEY: apiKey,
      HOOKLINE_ADMIN_TOKEN: generateApiKey(),
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true',
      HOOKLINE_LOG_LEVEL: 'warn',
      ...env,
    },
  };
}

export interface HooklineProcess {
  child: ChildProcess;
  pid: number;
  apiUrl: string;
  output(): string;
  /** Every live process under this one (PostgreSQL, the dev server, …), from /proc. */
  descendants(): number[];
  /** The embedded Temporal dev server's PID. */
  devServerPid(): number;
  /** Signals the whole process group (the process was started as its group's leader). */
  signalGroup(signal: NodeJS.Signals): void;
  exited: Promise<void>;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Live descendants of `root`, by walking /proc's parent links (never by a process name). */
export function descendantsOf(root: number): number[] {
  const pids = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const parents = new Map(pids.map((p) => [p, parentOf(p)]));
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie is dead for our purposes.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

/** `npm start`'s entry point (`src/main.ts`) as its own process group, on the installation's settings. */
export async function startHookline(inst: Installation): Promise<HooklineProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...inst.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hookline did not start:\n${out}`)), 90_000);
    child.stdout!.on('data', () => {
      if (out.includes('Hookline is running.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`hookline exited during start:\n${out}`));
    });
  });
  const pid = child.pid!;
  return {
    child,
    pid,
    apiUrl: /API:\s+(\S+)/.exec(out)![1]!,
    output: () => out,
    descendants: () => descendantsOf(pid),
    devServerPid() {
      const found = descendantsOf(pid).find((p) => cmdline(p).includes('start-dev'));
      if (!found) throw new Error('no dev server under the process');
      return found;
    },
    signalGroup: (signal) => process.kill(-pid, signal),
    exited,
  };
}

/** Kills the whole group at once (kill -9) and waits until every process of it is gone. */
export async function killGroup(p: HooklineProcess): Promise<void> {
  const all = [p.pid, ...p.descendants()];
  try {
    p.signalGroup('SIGKILL');
  } catch {
    // already gone
  }
  await p.exited;
  await waitUntil(async () => all.every((pid) => !alive(pid)), 15_000);
}

/** SIGTERM, then waits for the process and everything it started to be gone. */
export async function stopHookline(p: HooklineProcess, timeoutMs = 60_000): Promise<void> {
  const all = [p.pid, ...p.descendants()];
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await waitUntil(async () => all.every((pid) => !alive(pid)), timeoutMs);
}

/** A JSON request to the process's API with the installation's key. */
export async function call(
  p: HooklineProcess,
  inst: Installation,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${p.apiUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${inst.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
}
