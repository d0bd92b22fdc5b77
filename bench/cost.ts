// The cost of one delivered event, at a steady closed-loop load: CPU of each process, Temporal
// history events, workflow tasks, state transitions and visibility writes, PostgreSQL
// transactions and row writes, log lines. Used by `npm run bench` (phase `cost`).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Receiver } from '../test/helpers/receiver.js';
import { api, type TestStack } from '../test/helpers/stack.js';

const TICKS = 100; // clock ticks per second in /proc (USER_HZ)

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process, its reaped children included (utime, stime, cutime, cstime). */
export function cpuOf(pid: number): number {
  const f = stat(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
}

const pids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** A process and its live children, by /proc parent links. */
export function treeCpu(root: number): number {
  let total = cpuOf(root);
  for (const pid of pids()) {
    const f = stat(pid);
    if (f && Number(f[1]) === root) total += (Number(f[11]) + Number(f[12])) / TICKS;
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

/** The stack's embedded dev server and PostgreSQL postmaster, by their data dir. */
function embedded(stack: TestStack): { temporal?: number; postgres?: number } {
  const temporal = pids().find((p) => {
    const c = cmdline(p);
    return c.includes('start-dev') && c.includes(stack.dataDir);
  });
  let postgres: number | undefined;
  try {
    postgres = Number(
      readFileSync(path.join(stack.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
  } catch {
    postgres = undefined;
  }
  return { temporal, postgres };
}

async function pgCounters(stack: TestStack) {
  const { rows } = await stack.platform.db.query<{ xacts: string; writes: string }>(
    `SELECT sum(xact_commit + xact_rollback) AS xacts, sum(tup_inserted + tup_updated + tup_deleted) AS writes
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  return { xacts: Number(rows[0]!.xacts), writes: Number(rows[0]!.writes) };
}

/** History facts of one workflow execution (latest run). */
async function historyOf(stack: TestStack, workflowId: string) {
  const handle = stack.platform.temporal.workflow.getHandle(workflowId);
  const events = (await handle.fetchHistory()).events ?? [];
  const described = await handle.describe();
  return {
    events: events.length,
    bytes: JSON.stringify(events).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    upserts: events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length,
    stateTransitions: Number(described.raw.workflowExecutionInfo?.stateTransitionCount ?? 0),
  };
}

/**
 * Counts the statements sent through the platform's pool (by `db.query` and by a transaction's
 * client alike: every one goes through a pooled client), keyed by their first words, until `stop()`.
 */
function countStatements(stack: TestStack): { stop(): Map<string, number> } {
  const db = stack.platform.db;
  const counts = new Map<string, number>();
  let active = true;
  const key = (text: unknown) =>
    String(typeof text === 'object' && text ? (text as { text?: unknown }).text : text)
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 60);
  type Counted = { query: (...a: unknown[]) => unknown; counted?: boolean };
  const onAcquire = (client: Counted) => {
    if (client.counted) return;
    client.counted = true;
    const query = client.query.bind(client);
    client.query = (text: unknown, ...rest: unknown[]) => {
      if (active) counts.set(key(text), (counts.get(key(text)) ?? 0) + 1);
      return query(text, ...rest);
    };
  };
  db.on('acquire', onAcquire);
  return {
    stop() {
      active = false;
      db.off('acquire', onAcquire);
      return counts;
    },
  };
}

export interface CostReport {
  events: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** CPU ms per delivered event. */
  cpuMs: { node: number; temporal: number; postgres: number; total: number };
  /** Per delivered event (one event, one endpoint): from a sample of the phase's workflows. */
  temporal: {
    historyEvents: number;
    historyBytes: number;
    workflowTasks: number;
    stateTransitions: number;
    visibilityWrites: number;
  };
  postgres: {
    transactions: number;
    rowWrites: number;
    /** Statements sent through Hookline's pool, and the most frequent ones (their first words). */
    statements: number;
    byStatement: Array<{ statement: string; perEvent: number }>;
  };
  logLines: number;
  sampled: number;
}

/**
 * Sends `n` events (each to exactly one endpoint) keeping `window` in flight, measures every
 * counter across the phase, then samples `sample` of its events' workflows for history facts.
 */
export async function measureCost(opts: {
  stack: TestStack;
  receiver: Receiver;
  n: number;
  window: number;
  send: (i: number) => Promise<string>;
  logLines: () => number;
  sample?: number;
}): Promise<CostReport> {
  const { stack, receiver, n, window, send, logLines } = opts;
  const parts = embedded(stack);
  receiver.received.length = 0;
  const eventIds: string[] = [];
  const before = {
    node: process.cpuUsage(),
    temporal: parts.temporal ? treeCpu(parts.temporal) : 0,
    postgres: parts.postgres ? treeCpu(parts.postgres) : 0,
    pg: await pgCounters(stack),
    logs: logLines(),
    at: performance.now(),
  };
  const statements = countStatements(stack);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      while (i - receiver.received.length >= window) await new Promise((r) => setTimeout(r, 5));
      eventIds.push(await send(i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, window) }, lane));
  await receiver.waitFor(n, { timeoutMs: 20 * 60_000 });
  const seconds = (performance.now() - before.at) / 1000;
  const node = process.cpuUsage(before.node);
  const byStatement = statements.stop();
  await new Promise((r) => setTimeout(r, 1_500)); // PostgreSQL publishes its counters within a second
  const pg = await pgCounters(stack);
  const after = {
    temporal: parts.temporal ? treeCpu(parts.temporal) : 0,
    postgres: parts.postgres ? treeCpu(parts.postgres) : 0,
    logs: logLines(),
  };
  const per = (x: number) => x / n;
  const cpuMs = {
    node: per(((node.user + node.system) / 1e6) * 1000),
    temporal: per((after.temporal - before.temporal) * 1000),
    postgres: per((after.postgres - before.postgres) * 1000),
    total: 0,
  };
  cpuMs.total = cpuMs.node + cpuMs.temporal + cpuMs.postgres;

  // History facts from a sample: the event's workflow plus its delivery's.
  const sample = eventIds.slice(0, opts.sample ?? 20);
  const sum = {
    historyEvents: 0,
    historyBytes: 0,
    workflowTasks: 0,
    stateTransitions: 0,
    visibilityWrites: 0,
  };
  for (const eventId of sample) {
    const detail = await api(stack, 'GET', `/api/events/${eventId}`);
    const ids = [`event:${eventId}`, ...(detail.body.deliveries as Array<{ id: string }>).map((d) => d.id)];
    for (const id of ids) {
      const h = await historyOf(stack, id);
      sum.historyEvents += h.events;
      sum.historyBytes += h.bytes;
      sum.workflowTasks += h.workflowTasks;
      sum.stateTransitions += h.stateTransitions;
      sum.visibilityWrites += 2 + h.upserts; // its start, its close, each upsert
    }
  }
  const avg = (x: number) => x / Math.max(1, sample.length);
  return {
    events: n,
    seconds,
    deliveriesPerSecond: n / seconds,
    cpuMs,
    temporal: {
      historyEvents: avg(sum.historyEvents),
      historyBytes: avg(sum.historyBytes),
      workflowTasks: avg(sum.workflowTasks),
      stateTransitions: avg(sum.stateTransitions),
      visibilityWrites: avg(sum.visibilityWrites),
    },
    postgres: {
      transactions: per(pg.xacts - before.pg.xacts),
      rowWrites: per(pg.writes - before.pg.writes),
      statements: per([...byStatement.values()].reduce((a, b) => a + b, 0)),
      byStatement: [...byStatement]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([statement, count]) => ({ statement, perEvent: per(count) })),
    },
    logLines: per(after.logs - before.logs),
    sampled: sample.length,
  };
}
