// The processes a benchmark run spends CPU in, found by pid, and their CPU time from /proc: the
// bench's own Node process (API, worker, receiver, client), extra worker processes, the Temporal
// engine (the embedded dev server, or an external server: TEMPORAL_ADDRESS), Hookline's
// PostgreSQL and, for an external server, the server's own PostgreSQL. Linux only; elsewhere
// every process but this one reads as 0.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { portHolder } from '../src/infra/processes.js';
import type { TestStack } from '../test/helpers/stack.js';

const TICKS = 100; // clock ticks per second in /proc (USER_HZ)

export type ProcessKind = 'node' | 'temporal' | 'postgres';

export interface BenchProcess {
  /** Short label for the per-phase CPU shares: node, worker2, temporal, postgres, temporal-postgres. */
  label: string;
  /** What it is, for the cost table. */
  name: string;
  kind: ProcessKind;
  pid: number;
  /** Count its live children too (PostgreSQL's backends), not only reaped ones. */
  tree: boolean;
}

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const pids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/**
 * CPU seconds of a process (all its threads), with its reaped children (cutime, cstime) and,
 * when `tree`, its live children: a PostgreSQL postmaster and its backends.
 */
function cpuOf(p: BenchProcess): number {
  if (p.pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6; // this process only: its children are listed on their own
  }
  const f = stat(p.pid);
  if (!f) return 0;
  let total = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
  if (p.tree) {
    for (const pid of pids()) {
      const c = stat(pid);
      if (c && Number(c[1]) === p.pid) total += (Number(c[11]) + Number(c[12])) / TICKS;
    }
  }
  return total;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function postmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const envPid = (name: string) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/**
 * Every process of the run. The engine is the stack's dev server (by its data dir), or, with
 * TEMPORAL_ADDRESS, HOOKLINE_BENCH_TEMPORAL_PID or else the process listening on the address's
 * port; the engine's PostgreSQL is HOOKLINE_BENCH_TEMPORAL_POSTGRES_PID (bench/real-server.ts
 * sets both).
 */
export function benchProcesses(stack: TestStack, workers: Array<{ pid: number }> = []): BenchProcess[] {
  const list: BenchProcess[] = [
    {
      label: 'node',
      name: "Node: API + worker + the bench's client and receiver",
      kind: 'node',
      pid: process.pid,
      tree: false,
    },
  ];
  workers.forEach((w, i) =>
    list.push({
      label: `worker${i + 2}`,
      name: `Node: worker process ${i + 2}`,
      kind: 'node',
      pid: w.pid,
      tree: true,
    }),
  );
  if (stack.config.temporalAddress) {
    const port = Number(stack.config.temporalAddress.split(':').pop());
    const pid = envPid('HOOKLINE_BENCH_TEMPORAL_PID') ?? portHolder(port)?.pid;
    if (pid) list.push({ label: 'temporal', name: 'Temporal Server', kind: 'temporal', pid, tree: true });
    const pg = envPid('HOOKLINE_BENCH_TEMPORAL_POSTGRES_PID');
    if (pg) {
      list.push({
        label: 'temporal-postgres',
        name: 'PostgreSQL of the Temporal Server',
        kind: 'postgres',
        pid: pg,
        tree: true,
      });
    }
  } else {
    const pid = pids().find((p) => {
      const c = cmdline(p);
      return c.includes('start-dev') && c.includes(stack.dataDir);
    });
    if (pid) list.push({ label: 'temporal', name: 'Temporal dev server', kind: 'temporal', pid, tree: true });
  }
  if (!stack.config.databaseUrl) {
    const pid = postmaster(path.join(stack.dataDir, 'postgres'));
    if (pid) {
      list.push({
        label: 'postgres',
        name: 'PostgreSQL of Hookline',
        kind: 'postgres',
        pid,
        tree: true,
      });
    }
  }
  return list;
}

/** CPU seconds of any process by pid, its live children included (bench/ceiling.ts's dev server). */
export const pidCpuSeconds = (pid: number): number =>
  cpuOf({ label: String(pid), name: String(pid), kind: 'temporal', pid, tree: true });

export type CpuSnapshot = Map<BenchProcess, number>;

export const cpuSnapshot = (procs: BenchProcess[]): CpuSnapshot => new Map(procs.map((p) => [p, cpuOf(p)]));

/** CPU seconds each process used between two snapshots. */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
): Array<{ process: BenchProcess; seconds: number }> {
  return [...before].map(([p, s]) => ({ process: p, seconds: (after.get(p) ?? s) - s }));
}

/**
 * CPU seconds the whole machine has been busy (all processes, all cores) from /proc/stat: beside
 * the run's own processes, it tells how much CPU others used meanwhile on a shared machine.
 */
export function machineBusySeconds(): number {
  try {
    const cols = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: all but idle and iowait
    return (cols[0]! + cols[1]! + cols[2]! + cols[5]! + cols[6]! + cols[7]!) / TICKS;
  } catch {
    return 0;
  }
}
