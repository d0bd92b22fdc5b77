// The cost of one delivered event, at a steady closed-loop load: CPU of each process (found by
// pid, bench/processes.ts: the dev server or a real server and its PostgreSQL), Temporal
// history events, workflow tasks, state transitions and visibility writes, PostgreSQL
// transactions and row writes, log lines. Used by `npm run bench` (phase `cost`).
import pg from 'pg';
import type { Receiver } from '../test/helpers/receiver.js';
import { api, type TestStack } from '../test/helpers/stack.js';
import { cpuBetween, cpuSnapshot, machineBusySeconds, type BenchProcess } from './processes.js';

async function pgCounters(stack: TestStack) {
  const { rows } = await stack.platform.db.query<{ xacts: string; writes: string }>(
    `SELECT sum(xact_commit + xact_rollback) AS xacts, sum(tup_inserted + tup_updated + tup_deleted) AS writes
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  return { xacts: Number(rows[0]!.xacts), writes: Number(rows[0]!.writes) };
}

/**
 * Transactions and row writes of the Temporal Server's two databases (`temporal`,
 * `temporal_visibility`), when HOOKLINE_BENCH_TEMPORAL_POSTGRES_URL names that cluster
 * (bench/real-server.ts sets it): what a delivered event costs the server's persistence.
 */
async function temporalPgCounters(): Promise<Record<string, { xacts: number; writes: number }> | undefined> {
  const url = process.env.HOOKLINE_BENCH_TEMPORAL_POSTGRES_URL;
  if (!url) return undefined;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string; xacts: string; writes: string }>(
      `SELECT datname, xact_commit + xact_rollback AS xacts, tup_inserted + tup_updated + tup_deleted AS writes
       FROM pg_stat_database WHERE datname IN ('temporal', 'temporal_visibility')`,
    );
    return Object.fromEntries(
      rows.map((r) => [r.datname, { xacts: Number(r.xacts), writes: Number(r.writes) }]),
    );
  } finally {
    await client.end();
  }
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
  /** CPU ms per delivered event: Node processes, the Temporal engine, PostgreSQL (all clusters). */
  cpuMs: { node: number; temporal: number; postgres: number; total: number };
  /** CPU ms per delivered event of each process (bench/processes.ts). */
  processes: Array<{ name: string; kind: BenchProcess['kind']; ms: number }>;
  /** CPU used meanwhile by every other process of the machine, in cores (the shared machine's noise). */
  othersCores: number;
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
  /** The Temporal Server's databases, per delivered event (an external server named by the recipe). */
  temporalPostgres?: Record<string, { transactions: number; rowWrites: number }>;
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
  /** The processes whose CPU counts (bench/processes.ts). */
  processes: BenchProcess[];
  sample?: number;
}): Promise<CostReport> {
  const { stack, receiver, n, window, send, logLines } = opts;
  receiver.received.length = 0;
  const eventIds: string[] = [];
  const before = {
    cpu: cpuSnapshot(opts.processes),
    machine: machineBusySeconds(),
    pg: await pgCounters(stack),
    temporalPg: await temporalPgCounters(),
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
  const used = cpuBetween(before.cpu, cpuSnapshot(opts.processes));
  const machine = machineBusySeconds() - before.machine;
  const byStatement = statements.stop();
  await new Promise((r) => setTimeout(r, 1_500)); // PostgreSQL publishes its counters within a second
  const pg = await pgCounters(stack);
  const temporalPg = await temporalPgCounters();
  const after = { logs: logLines() };
  const per = (x: number) => x / n;
  const processes = used.map((u) => ({
    name: u.process.name,
    kind: u.process.kind,
    ms: per(u.seconds * 1000),
  }));
  const sum = (kind: BenchProcess['kind']) =>
    processes.filter((p) => p.kind === kind).reduce((a, p) => a + p.ms, 0);
  const cpuMs = { node: sum('node'), temporal: sum('temporal'), postgres: sum('postgres'), total: 0 };
  cpuMs.total = cpuMs.node + cpuMs.temporal + cpuMs.postgres;

  // History facts from a sample: the event's workflow plus its delivery's.
  const sample = eventIds.slice(0, opts.sample ?? 20);
  const facts = {
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
      facts.historyEvents += h.events;
      facts.historyBytes += h.bytes;
      facts.workflowTasks += h.workflowTasks;
      facts.stateTransitions += h.stateTransitions;
      facts.visibilityWrites += 2 + h.upserts; // its start, its close, each upsert
    }
  }
  const avg = (x: number) => x / Math.max(1, sample.length);
  return {
    events: n,
    seconds,
    deliveriesPerSecond: n / seconds,
    cpuMs,
    processes,
    othersCores: Math.max(0, machine - used.reduce((a, u) => a + u.seconds, 0)) / seconds,
    temporal: {
      historyEvents: avg(facts.historyEvents),
      historyBytes: avg(facts.historyBytes),
      workflowTasks: avg(facts.workflowTasks),
      stateTransitions: avg(facts.stateTransitions),
      visibilityWrites: avg(facts.visibilityWrites),
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
    ...(temporalPg && before.temporalPg
      ? {
          temporalPostgres: Object.fromEntries(
            Object.entries(temporalPg).map(([db, c]) => [
              db,
              {
                transactions: per(c.xacts - (before.temporalPg![db]?.xacts ?? 0)),
                rowWrites: per(c.writes - (before.temporalPg![db]?.writes ?? 0)),
              },
            ]),
          ),
        }
      : {}),
    logLines: per(after.logs - before.logs),
    sampled: sample.length,
  };
}
