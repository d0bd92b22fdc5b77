// `npm run bench` — end-to-end benchmark on the real embedded stack (dev server, PostgreSQL,
// worker and API in this process), with a loopback receiver that timestamps every arrival.
// Options: --events N (end-to-end events, default 5000), --quick (small sizes, for a smoke run;
// writes only bench/results/quick.json),
// --only e2e,hot,… (run some phases: limit, ingest, e2e, cost, ceiling, fanout, wide, hot, throttled, latency, history; a partial
// run prints its table but writes only bench/results/partial.json). Without the e2e phase, the latency
// phase runs at half of BENCH_SUSTAINED events/s (default 20).
// --profile ingest|cost: a CPU profile of the main thread during that phase (bench/results/<phase>.cpuprofile).
// --workers N: the in-process worker plus N-1 worker processes (`npm start`'s entry point,
// HOOKLINE_ROLE=worker) on the same task queue; every process's CPU is counted.
// With TEMPORAL_ADDRESS set, no dev server starts: the run uses that Temporal (a real server:
// `npx tsx bench/real-server.ts -- npx tsx bench/run.ts …`, which also names its pids).
// Writes bench/results/latest.json and docs/benchmarks.md. Everything is bounded in count and time.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { mapBounded } from '../src/concurrency.js';
import { signatureHeaders } from '../src/domain/signing.js';
import { VERSION } from '../src/version.js';
import { startReceiver, type Receiver } from '../test/helpers/receiver.js';
import { api, startStack, workflowResult, type TestStack } from '../test/helpers/stack.js';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/worker-process.js';
import type { CeilingReport } from './ceiling.js';
import { measureCost, type CostReport } from './cost.js';
import { benchProcesses, cpuBetween, cpuSnapshot, type BenchProcess } from './processes.js';
import { measureWide, type WideReport } from './wide.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    quick: { type: 'boolean' },
    only: { type: 'string' },
    profile: { type: 'string' },
    workers: { type: 'string' },
  },
});
const WORKERS = Number(values.workers ?? 1);
if (!Number.isInteger(WORKERS) || WORKERS < 1) throw new Error('--workers must be a whole number ≥ 1');
const quick = values.quick ?? false;
const PHASES = [
  'limit',
  'ingest',
  'e2e',
  'cost',
  'ceiling',
  'fanout',
  'wide',
  'hot',
  'throttled',
  'latency',
  'history',
] as const;
const only = values.only ? new Set(values.only.split(',')) : null;
for (const p of only ?? []) {
  if (!(PHASES as readonly string[]).includes(p))
    throw new Error(`unknown phase ${p}; phases: ${PHASES.join(', ')}`);
}
const runs = (phase: (typeof PHASES)[number]) => !only || only.has(phase);
const E2E_EVENTS = Number(values.events ?? (quick ? 300 : 5000));
const LIMIT_REQUESTS = quick ? 1000 : 5000;
const INGEST_EVENTS = quick ? 500 : 5000;
/** Ingest requests in flight (single events), and batch requests in flight. */
const INGEST_CONCURRENCY = 64;
const BATCH_CONCURRENCY = 8;
const HOT_EVENTS = quick ? 200 : 1000;
/**
 * The throttled phase's endpoint: a hot endpoint with a rateLimit. 50/s, burst 10, unless the hot
 * phase measured less than twice that: then half the hot rate, so the limit bites and the phase
 * measures sends that wait, not only sends that ask.
 */
const THROTTLE = { perSecond: 50, burst: 10 };

/** Waits for a slot or a token so far (`hookline_throttle_wait_seconds_count`, every endpoint). */
async function throttleWaits(stack: TestStack): Promise<number> {
  const text = await (await fetch(`${stack.platform.apiUrl}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^hookline_throttle_wait_seconds_count\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}
/** Events of the cost phase (closed loop, one endpoint each). */
const COST_EVENTS = quick ? 200 : 1000;
const LATENCY_SECONDS = quick ? 10 : 30;
const CONCURRENCY = 32;
/** Events in flight (sent, not arrived) in the closed-loop phases. */
const WINDOW = 64;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Runs `n` jobs with at most `concurrency` in flight, reporting progress. */
async function pool(n: number, concurrency: number, job: (i: number) => Promise<unknown>, label: string) {
  let done = 0;
  const progress = setInterval(() => log(`${label}: ${done}/${n}`), 2000);
  try {
    await mapBounded(
      Array.from({ length: n }, (_, i) => i),
      concurrency,
      async (i) => {
        await job(i);
        done++;
      },
    );
  } finally {
    clearInterval(progress);
  }
}

async function waitArrivals(receiver: Receiver, count: number, label: string, timeoutMs = 20 * 60_000) {
  const progress = setInterval(() => log(`${label}: ${receiver.received.length}/${count} arrived`), 2000);
  try {
    return await receiver.waitFor(count, { timeoutMs });
  } finally {
    clearInterval(progress);
  }
}

/** The processes whose CPU each phase reports (set once the stack and workers run). */
let processes: BenchProcess[] = [];

/**
 * `--profile <phase>` (ingest or cost): V8's CPU profile of this process's main thread (API,
 * worker's activities and the bench's client) during that phase, written to
 * bench/results/<phase>.cpuprofile (open it in Chrome DevTools), with its top functions printed.
 */
async function profiled<T>(phase: string, run: () => Promise<T>): Promise<T> {
  if (values.profile !== phase) return run();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir('bench/results', { recursive: true });
    await writeFile(`bench/results/${phase}.cpuprofile`, JSON.stringify(profile));
    log(`profile of ${phase}: bench/results/${phase}.cpuprofile; top self time:\n${topOf(profile)}`);
  }
}

/** The functions with the most self time in a CPU profile, by function and script. */
function topOf(profile: {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples?: number[];
  timeDeltas?: number[];
}): string {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const dt = profile.timeDeltas?.[i] ?? 0;
    const f = byNode.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|activities|workflows|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([k, t]) => `  ${((t / total) * 100).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
}

/** Measures one phase: its wall time and the CPU share of every process of the run. */
async function measured<T>(run: () => Promise<T>): Promise<{
  value: T;
  seconds: number;
  cpu: string;
  /** CPU seconds of the Node processes and of the engine during the phase. */
  cpuSeconds: { node: number; temporal: number };
}> {
  const c0 = cpuSnapshot(processes);
  const t0 = performance.now();
  const value = await run();
  const seconds = (performance.now() - t0) / 1000;
  const used = cpuBetween(c0, cpuSnapshot(processes));
  const pct = (x: number) => `${Math.round((x / seconds) * 100)} %`;
  const of = (kind: string) => used.filter((u) => u.process.kind === kind).reduce((a, u) => a + u.seconds, 0);
  return {
    value,
    seconds,
    cpu: used.map((u) => `${u.process.label} ${pct(u.seconds)}`).join(', '),
    cpuSeconds: { node: of('node'), temporal: of('temporal') },
  };
}

/**
 * Sends `n` events through `send`, keeping at most WINDOW of them in flight (sent, not yet arrived
 * at the receiver), and waits for all to arrive: a closed loop, so the rate measured is what the
 * platform sustains, not how fast a backlog of queued workflows drains.
 */
async function sustained(
  receiver: Receiver,
  n: number,
  send: (i: number) => Promise<unknown>,
  label: string,
) {
  receiver.received.length = 0;
  const m = await measured(async () => {
    await pool(
      n,
      CONCURRENCY,
      async (i) => {
        while (i - receiver.received.length >= WINDOW) await new Promise((r) => setTimeout(r, 5));
        await send(i);
      },
      `${label} send`,
    );
    await waitArrivals(receiver, n, label);
  });
  // CPU ms per delivered event: the Node processes (API, worker, the bench's client) and the engine.
  const cpuMs = { node: (m.cpuSeconds.node * 1000) / n, temporal: (m.cpuSeconds.temporal * 1000) / n };
  return { perSecond: n / m.seconds, cpu: m.cpu, cpuMs };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function endpoints(stack: TestStack, receiver: Receiver, prefix: string, n: number, events: string[]) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name: `${prefix}${i}`,
      url: `${receiver.url}/${prefix}${i}`,
      events,
    });
    ids.push(r.body.id);
  }
  return ids;
}

/**
 * Waits until no accepted event waits for its workflow and no event or delivery workflow runs (a
 * phase's stragglers, dispatched or not, never count in the next).
 */
async function drain(stack: TestStack, label: string) {
  const query = 'WorkflowType IN ("eventWorkflow", "deliveryWorkflow") AND ExecutionStatus = "Running"';
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    const stats = await api(stack, 'GET', '/api/stats');
    const pending = Number(stats.body?.queues?.pendingDispatch ?? 0);
    const { count } = await stack.platform.temporal.workflow.count(query);
    if ((count === 0 && pending === 0) || Date.now() > deadline) return;
    log(`${label}: waiting for ${pending} events to dispatch and ${count} running workflows`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The bench's HTTP client: undici with keep-alive (fetch would cost the shared process more). */
const client = new Agent({ connections: 128, keepAliveTimeout: 30_000 });

async function post(stack: TestStack, route: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`${stack.platform.apiUrl}${route}`, {
    method: 'POST',
    dispatcher: client,
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: await res.body.json() };
}

/** Sends one event; resolves to its id once it is accepted. */
const send = (stack: TestStack, type: string, payload: unknown) =>
  post(stack, '/api/events', { type, payload }).then((r) => {
    if (r.status !== 202) throw new Error(`event not accepted: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.eventId as string;
  });

/**
 * Sends `n` events from a producer process (bench/producer.ts) with `concurrency` requests in
 * flight, `batch` events per request; measured from its first request to its last answer, with
 * the producer's own CPU share added to the phase's.
 */
async function produced(stack: TestStack, job: { n: number; concurrency: number; batch: number }) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/producer.ts',
      JSON.stringify({
        ...job,
        url: stack.platform.apiUrl,
        apiKey: stack.apiKey,
        type: 'bench.nobody',
      }),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`producer exited with ${code}`)));
    });
  try {
    if ((await next()) !== 'ready') throw new Error('producer did not start');
    const m = await measured(async () => {
      const answer = next();
      child.stdin!.write('go\n');
      return JSON.parse(await answer) as { seconds: number; cpuSeconds: number; error?: string };
    });
    if (m.value.error) throw new Error(`producer: ${m.value.error}`);
    const share = Math.round((m.value.cpuSeconds / m.value.seconds) * 100);
    return { ...m, seconds: m.value.seconds, cpu: `${m.cpu}, producer ${share} %` };
  } finally {
    lines.close();
    if (child.exitCode === null) child.kill();
  }
}

async function main() {
  const receiver = await startReceiver();
  // Logs at `npm start`'s level (info), counted, not kept: the cost phase reports lines per event.
  let logLines = 0;
  const external = process.env.TEMPORAL_ADDRESS;
  const stack = await startStack({
    env: {
      HOOKLINE_RATE_LIMIT: '0',
      ...(external ? { TEMPORAL_ADDRESS: external } : {}),
      ...(process.env.TEMPORAL_NAMESPACE ? { TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE } : {}),
    },
    logSink: { level: 'info', write: () => void logLines++ },
  });
  const results: Record<string, any> = {};
  const cpu: Record<string, string> = {};
  const workers: WorkerProcess[] = [];
  try {
    // Extra workers log at the same level as this process; their lines are counted from their output.
    for (let k = 2; k <= WORKERS; k++) {
      log(`starting worker process ${k}`);
      workers.push(await startWorkerProcess(stack, `worker${k}`, { HOOKLINE_LOG_LEVEL: 'info' }));
    }
    const workerLines = () =>
      workers.reduce(
        (n, w) =>
          n +
          w
            .output()
            .split('\n')
            .filter((l) => l.startsWith('{')).length,
        0,
      );
    processes = benchProcesses(
      stack,
      workers.map((w) => ({ pid: w.child.pid! })),
    );
    const system = await stack.platform.temporal.workflowService.getSystemInfo({});
    results.temporal = {
      engine: external ? `Temporal Server at ${external}` : 'embedded dev server',
      serverVersion: system.serverVersion,
    };
    results.workers = WORKERS;
    results.processes = processes.map((p) => ({ name: p.name, pid: p.pid }));
    log(`processes: ${processes.map((p) => `${p.label} ${p.pid}`).join(', ')}`);
    // 1. The limit: signed undici POSTs straight to the receiver.
    {
      const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
      const body = JSON.stringify({ order: { id: 'ORD-1', amount: 299.99 } });
      const m = await measured(() =>
        pool(
          LIMIT_REQUESTS,
          CONCURRENCY,
          async (i) => {
            const headers = signatureHeaders({
              webhookId: `msg_${i}`,
              eventId: `evt_${i}`,
              eventType: 'bench.limit',
              timestampSeconds: Math.floor(Date.now() / 1000),
              body,
              secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
            });
            const res = await request(`${receiver.url}/limit`, {
              method: 'POST',
              dispatcher: agent,
              headers: { ...headers, 'content-type': 'application/json' },
              body,
            });
            await res.body.dump();
          },
          'limit',
        ),
      );
      await agent.close();
      results.limit = { requestsPerSecond: LIMIT_REQUESTS / m.seconds };
      cpu.limit = m.cpu;
      log(`limit ${results.limit.requestsPerSecond.toFixed(0)}/s (${m.cpu})`);
    }

    // 2. Ingest: events accepted per second (a type no endpoint matches), from the bench's client in
    // this process (the measure of every earlier run), then from a producer in a process of its own.
    if (runs('ingest')) {
      // The first events after a start run cold (the API's code, the worker's workflow sandbox,
      // the engine's caches): measured and reported on their own, then the phases below run warm.
      const cold = await measured(() =>
        pool(INGEST_EVENTS, INGEST_CONCURRENCY, (i) => send(stack, 'bench.nobody', { i }), 'ingest cold'),
      );
      await drain(stack, 'ingest cold');
      const single = await profiled('ingest', () =>
        measured(() =>
          pool(INGEST_EVENTS, INGEST_CONCURRENCY, (i) => send(stack, 'bench.nobody', { i }), 'ingest single'),
        ),
      );
      await drain(stack, 'ingest single');
      const batch = await measured(() =>
        pool(
          INGEST_EVENTS / 100,
          BATCH_CONCURRENCY,
          async (b) => {
            const r = await post(stack, '/api/events/batch', {
              events: Array.from({ length: 100 }, (_, i) => ({ type: 'bench.nobody', payload: { b, i } })),
            });
            if (r.status !== 207 && r.status !== 202) throw new Error(`batch not accepted: ${r.status}`);
          },
          'ingest batch',
        ),
      );
      await drain(stack, 'ingest batch');
      const fromProducer = await produced(stack, {
        n: INGEST_EVENTS,
        concurrency: INGEST_CONCURRENCY,
        batch: 1,
      });
      await drain(stack, 'ingest single, producer process');
      const batchFromProducer = await produced(stack, {
        n: INGEST_EVENTS,
        concurrency: BATCH_CONCURRENCY,
        batch: 100,
      });
      await drain(stack, 'ingest batch, producer process');
      results.ingest = {
        coldSinglePerSecond: INGEST_EVENTS / cold.seconds,
        singlePerSecond: INGEST_EVENTS / single.seconds,
        batchPerSecond: INGEST_EVENTS / batch.seconds,
        producer: {
          singlePerSecond: INGEST_EVENTS / fromProducer.seconds,
          batchPerSecond: INGEST_EVENTS / batchFromProducer.seconds,
          cpuMsPerEvent: {
            single: (fromProducer.value.cpuSeconds * 1000) / INGEST_EVENTS,
            batch: (batchFromProducer.value.cpuSeconds * 1000) / INGEST_EVENTS,
          },
        },
      };
      cpu.ingestColdSingle = cold.cpu;
      cpu.ingestSingle = single.cpu;
      cpu.ingestBatch = batch.cpu;
      cpu.ingestSingleFromProducer = fromProducer.cpu;
      cpu.ingestBatchFromProducer = batchFromProducer.cpu;
      log(
        `ingest ${JSON.stringify(results.ingest)} (${cold.cpu}; ${single.cpu}; ${batch.cpu}; ${fromProducer.cpu}; ${batchFromProducer.cpu})`,
      );
    }

    // 3. End to end: E2E_EVENTS events, one endpoint each (spread over 10 endpoints).
    if (runs('e2e')) {
      // Ten endpoints, each subscribed to its own type, so every event matches exactly one.
      for (let k = 0; k < 10; k++) await endpoints(stack, receiver, `e2e${k}-`, 1, [`e2e${k}.x`]);
      const m = await sustained(
        receiver,
        E2E_EVENTS,
        (i) => send(stack, `e2e${i % 10}.x`, { i }),
        'end to end',
      );
      results.endToEnd = { events: E2E_EVENTS, window: WINDOW, deliveriesPerSecond: m.perSecond };
      cpu.endToEnd = m.cpu;
      log(`end to end ${m.perSecond.toFixed(1)}/s (${m.cpu})`);
      await drain(stack, 'end to end');
    }

    // 3b. Cost per delivered event at a steady closed-loop load (one endpoint each).
    if (runs('cost')) {
      await endpoints(stack, receiver, 'cost', 1, ['cost.x']);
      results.cost = await profiled('cost', () =>
        measureCost({
          stack,
          receiver,
          n: COST_EVENTS,
          window: WINDOW,
          send: (i) => send(stack, 'cost.x', { i }),
          logLines: () => logLines + workerLines(),
          processes,
        }),
      );
      log(`cost ${JSON.stringify(results.cost)}`);
      await drain(stack, 'cost');
    }

    // 3c. The ceiling: the same shape with activities that do nothing, on a dev server of its own
    // (bench/ceiling.ts in a child process: its Node CPU is its own), the same closed loop.
    if (runs('ceiling')) {
      results.ceiling = ceiling(runs('cost') ? COST_EVENTS : E2E_EVENTS);
      log(`ceiling ${JSON.stringify(results.ceiling)}`);
    }

    // 4. Fan-out: one event to 10 and to 100 endpoints.
    if (runs('fanout')) {
      results.fanOut = {};
      for (const n of [10, 100]) {
        await endpoints(stack, receiver, `fan${n}-`, n, [`fan${n}.*`]);
        receiver.received.length = 0;
        const m = await measured(async () => {
          await send(stack, `fan${n}.x`, {});
          await waitArrivals(receiver, n, `fan-out ${n}`);
        });
        results.fanOut[`to${n}`] = n / m.seconds;
        cpu[`fanOut${n}`] = m.cpu;
        await drain(stack, `fan-out ${n}`);
      }
      log(`fan-out ${JSON.stringify(results.fanOut)}`);
    }

    // 4b. One event to 1,000 and to 10,000 endpoints: rate, the event workflow's runs, a small event meanwhile.
    if (runs('wide')) {
      results.wide = [];
      for (const n of quick ? [600, 1200] : [1000, 10_000]) {
        const m = await measured(() => measureWide(stack, receiver, n, log));
        results.wide.push(m.value);
        cpu[`wide${n}`] = m.cpu;
        log(`wide ${n}: ${JSON.stringify(m.value)}`);
        await drain(stack, `wide ${n}`);
      }
    }

    // 5. A hot endpoint against the same load spread over ten (each event to exactly one endpoint).
    if (runs('hot') || runs('latency') || runs('history')) {
      await endpoints(stack, receiver, 'hot', 1, ['hot.*']);
    }
    const rate = async (type: (i: number) => string, label: string) => {
      const m = await sustained(receiver, HOT_EVENTS, (i) => send(stack, type(i), { i }), label);
      cpu[label] = m.cpu;
      await drain(stack, label);
      return m;
    };
    if (runs('hot')) {
      for (let k = 0; k < 10; k++) await endpoints(stack, receiver, `sp${k}-`, 1, [`sp${k}.x`]);
      const hot = await rate(() => 'hot.x', 'hot');
      const spread = await rate((i) => `sp${i % 10}.x`, 'spread');
      results.hotEndpoint = {
        hotPerSecond: hot.perSecond,
        spreadPerSecond: spread.perSecond,
        ratio: hot.perSecond / spread.perSecond,
        hotCpuMsPerEvent: hot.cpuMs,
      };
      log(`hot ${hot.perSecond.toFixed(1)}/s, spread ${spread.perSecond.toFixed(1)}/s`);
    }

    // 5b. The same hot endpoint load to an endpoint with a rateLimit (issue #15): the sends that
    // must wait reserve a slot, sleep on a durable timer and ask again; what that costs per event.
    if (runs('throttled')) {
      const hot = results.hotEndpoint?.hotPerSecond as number | undefined;
      const limit =
        hot !== undefined && hot < 2 * THROTTLE.perSecond
          ? { ...THROTTLE, perSecond: Math.max(1, Math.round(hot / 2)) }
          : THROTTLE;
      const made = await api(stack, 'POST', '/api/endpoints', {
        name: 'throttled',
        url: `${receiver.url}/throttled`,
        events: ['throttled.*'],
        rateLimit: limit,
      });
      if (made.status !== 201)
        throw new Error(`throttled endpoint: ${made.status} ${JSON.stringify(made.body)}`);
      const waits0 = await throttleWaits(stack);
      const m = await rate(() => 'throttled.x', 'throttled');
      const waits = (await throttleWaits(stack)) - waits0;
      results.throttled = {
        waitsPerEvent: waits / HOT_EVENTS,
        ...limit,
        events: HOT_EVENTS,
        deliveriesPerSecond: m.perSecond,
        cpuMsPerEvent: m.cpuMs,
      };
      log(
        `throttled ${m.perSecond.toFixed(1)}/s (limit ${limit.perSecond}/s), ${JSON.stringify(m.cpuMs)} CPU ms/event`,
      );
    }

    // 6. Latency at a fixed arrival rate of about half the sustained end-to-end rate.
    if (runs('latency')) {
      const sustained = results.endToEnd?.deliveriesPerSecond ?? Number(process.env.BENCH_SUSTAINED ?? 20);
      const target = Math.max(1, sustained / 2);
      const total = Math.round(target * LATENCY_SECONDS);
      receiver.received.length = 0;
      const sentAt = new Map<number, number>();
      const startedAt = new Map<number, number>();
      const eventIds = new Map<number, string>();
      const t0 = performance.now();
      const sends: Promise<void>[] = [];
      const progress = setInterval(() => log(`latency: ${sentAt.size}/${total} sent`), 2000);
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / target;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        startedAt.set(i, Date.now());
        sends.push(
          send(stack, 'hot.lat', { seq: i }).then((id) => {
            sentAt.set(i, Date.now());
            eventIds.set(i, id);
          }),
        );
      }
      await Promise.all(sends);
      clearInterval(progress);
      // Only this phase's events count (a straggler of an earlier phase carries no `seq`).
      const firstArrival = new Map<number, number>();
      const deadline = Date.now() + 10 * 60_000;
      let scanned = 0;
      while (firstArrival.size < total && Date.now() < deadline) {
        for (; scanned < receiver.received.length; scanned++) {
          const r = receiver.received[scanned]!;
          const seq = (JSON.parse(r.body) as { seq?: number }).seq;
          if (r.path === '/hot0' && seq !== undefined && !firstArrival.has(seq)) firstArrival.set(seq, r.at);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      if (firstArrival.size < total) log(`latency: only ${firstArrival.size}/${total} arrived`);
      // From the 202's arrival at the client; a webhook can land before it, which counts as 0.
      const latencies = [...firstArrival]
        .map(([seq, at]) => Math.max(0, at - sentAt.get(seq)!))
        .sort((a, b) => a - b);
      // From the request's send: what a producer waits for, whether the engine is asked before the
      // 202 (before issue #11) or after it (since): the comparable figure across the change.
      const fromSend = [...firstArrival].map(([seq, at]) => at - startedAt.get(seq)!).sort((a, b) => a - b);
      // Split at the event workflow's start (its history's first event): intake before, engine after.
      const wfStart = new Map<number, number>();
      for (const [seq, id] of eventIds) {
        const d = await stack.platform.temporal.workflow.getHandle(`event:${id}`).describe();
        wfStart.set(seq, d.startTime.getTime());
      }
      const toStart = [...firstArrival]
        .map(([seq]) => wfStart.get(seq)! - startedAt.get(seq)!)
        .sort((a, b) => a - b);
      const startToArrival = [...firstArrival]
        .map(([seq, at]) => at - wfStart.get(seq)!)
        .sort((a, b) => a - b);
      log(
        `latency split: send → workflow start p50 ${percentile(toStart, 50)} p95 ${percentile(toStart, 95)}; ` +
          `workflow start → arrival p50 ${percentile(startToArrival, 50)} p95 ${percentile(startToArrival, 95)}`,
      );
      results.latency = {
        ratePerSecond: target,
        events: total,
        arrived: firstArrival.size,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        fromSend: {
          p50: percentile(fromSend, 50),
          p95: percentile(fromSend, 95),
          p99: percentile(fromSend, 99),
        },
      };
      log(`latency ${JSON.stringify(results.latency)}`);
      await drain(stack, 'latency');
    }

    // 7. Temporal history events per delivered event (one event, one endpoint).
    if (runs('history')) {
      const probe = await post(stack, '/api/events', { type: 'hot.hist', payload: {} });
      const temporal = stack.platform.temporal;
      const fan = await workflowResult(stack, probe.body.workflowId);
      let events =
        (await temporal.workflow.getHandle(probe.body.workflowId).fetchHistory()).events?.length ?? 0;
      for (const endpointId of Object.keys(fan.endpoints)) {
        const handle = temporal.workflow.getHandle(`delivery:${probe.body.eventId}:${endpointId}`);
        events += (await handle.fetchHistory()).events?.length ?? 0;
      }
      results.historyEventsPerDeliveredEvent = events;
    }
    results.peakRssMb = Math.round(peakRss / 1024 / 1024);
    results.cpu = cpu;
  } finally {
    clearInterval(sampler);
    await client.close();
    for (const w of workers) await w.stop();
    await stack.stop();
    await receiver.close();
  }
  return results;
}

/** bench/ceiling.ts's `handoff` shape, closed loop of WINDOW, in a child process. */
function ceiling(n: number): CeilingReport {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./ceiling.ts', import.meta.url)),
      String(n),
      'handoff',
      '--window',
      String(WINDOW),
      '--json',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as CeilingReport;
}

// The machine is shared: the load average before and after says whether others used it meanwhile.
const loadBefore = loadavg();
const results = await main();
results.loadAverage = { before: loadBefore, after: loadavg() };
log(
  `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${results.loadAverage.after.map((x: number) => x.toFixed(2)).join(' ')}`,
);
const limit = results.limit.requestsPerSecond as number;
const ratio = (x: number) => `${((x / limit) * 100).toFixed(1)} %`;
const r = results;
const rows: string[][] = [['limit: signed undici POSTs to the receiver', `${limit.toFixed(0)}/s`, '100 %']];
if (r.ingest) {
  if (r.ingest.coldSinglePerSecond) {
    rows.push([
      `ingest, single requests, the first ${INGEST_EVENTS} after the start (cold)`,
      `${r.ingest.coldSinglePerSecond.toFixed(0)} events/s`,
      ratio(r.ingest.coldSinglePerSecond),
    ]);
  }
  rows.push(
    [
      `ingest, single requests (${INGEST_CONCURRENCY} in flight, warm)`,
      `${r.ingest.singlePerSecond.toFixed(0)} events/s`,
      ratio(r.ingest.singlePerSecond),
    ],
    [
      `ingest, batches of 100 (${BATCH_CONCURRENCY} in flight)`,
      `${r.ingest.batchPerSecond.toFixed(0)} events/s`,
      ratio(r.ingest.batchPerSecond),
    ],
  );
  if (r.ingest.producer) {
    const p = r.ingest.producer;
    rows.push(
      [
        `ingest, single requests, from a producer process on the same cores (${p.cpuMsPerEvent.single.toFixed(2)} ms of its CPU per event)`,
        `${p.singlePerSecond.toFixed(0)} events/s`,
        ratio(p.singlePerSecond),
      ],
      [
        `ingest, batches of 100, from a producer process on the same cores (${p.cpuMsPerEvent.batch.toFixed(3)} ms per event)`,
        `${p.batchPerSecond.toFixed(0)} events/s`,
        ratio(p.batchPerSecond),
      ],
    );
  }
}
if (r.endToEnd) {
  rows.push([
    `end to end, ${r.endToEnd.events} events, one endpoint each (closed loop, ${r.endToEnd.window} in flight)`,
    `${r.endToEnd.deliveriesPerSecond.toFixed(1)} deliveries/s`,
    ratio(r.endToEnd.deliveriesPerSecond),
  ]);
}
const costTable = r.cost ? costRows(r.cost as CostReport, r.ceiling as CeilingReport | undefined) : '';
if (r.ceiling) {
  const c = r.ceiling as CeilingReport;
  const measured = (r.cost?.deliveriesPerSecond ?? r.endToEnd?.deliveriesPerSecond) as number | undefined;
  rows.push([
    `ceiling: the same shape with no-op activities (bench/ceiling.ts handoff, ${c.count} events, closed loop of ${c.window})`,
    `${c.perSecond.toFixed(1)} events/s${measured ? `; Hookline at ${((measured / c.perSecond) * 100).toFixed(0)} % of it` : ''}`,
    ratio(c.perSecond),
  ]);
}
if (r.fanOut) {
  rows.push(
    ['fan-out, one event to 10 endpoints', `${r.fanOut.to10.toFixed(1)} deliveries/s`, ratio(r.fanOut.to10)],
    [
      'fan-out, one event to 100 endpoints',
      `${r.fanOut.to100.toFixed(1)} deliveries/s`,
      ratio(r.fanOut.to100),
    ],
  );
}
if (r.hotEndpoint) {
  rows.push(
    [
      `hot endpoint (${HOT_EVENTS} events to one endpoint)`,
      `${r.hotEndpoint.hotPerSecond.toFixed(1)} deliveries/s`,
      ratio(r.hotEndpoint.hotPerSecond),
    ],
    [
      'the same load spread over 10 endpoints',
      `${r.hotEndpoint.spreadPerSecond.toFixed(1)} deliveries/s (hot/spread ${r.hotEndpoint.ratio.toFixed(2)})`,
      ratio(r.hotEndpoint.spreadPerSecond),
    ],
  );
}
const cpuPerEvent = (c: { node: number; temporal: number }) =>
  `CPU ${c.node.toFixed(1)} ms Node + ${c.temporal.toFixed(1)} ms dev server per delivered event`;
if (r.hotEndpoint?.hotCpuMsPerEvent) {
  rows.push(['hot endpoint, cost', cpuPerEvent(r.hotEndpoint.hotCpuMsPerEvent), '']);
}
if (r.throttled) {
  rows.push(
    [
      `throttled hot endpoint (${r.throttled.events} events, rateLimit ${r.throttled.perSecond}/s, burst ${r.throttled.burst})`,
      `${r.throttled.deliveriesPerSecond.toFixed(1)} deliveries/s; ${r.throttled.waitsPerEvent.toFixed(2)} durable waits per event`,
      ratio(r.throttled.deliveriesPerSecond),
    ],
    ['throttled hot endpoint, cost', cpuPerEvent(r.throttled.cpuMsPerEvent), ''],
  );
}
if (r.latency) {
  rows.push([
    `latency 202 → arrival, ${r.latency.events} events at ${r.latency.ratePerSecond.toFixed(1)}/s`,
    `p50 ${r.latency.p50} ms, p95 ${r.latency.p95} ms, p99 ${r.latency.p99} ms`,
    '',
  ]);
  if (r.latency.fromSend)
    rows.push([
      'latency send → arrival (the same events)',
      `p50 ${r.latency.fromSend.p50} ms, p95 ${r.latency.fromSend.p95} ms, p99 ${r.latency.fromSend.p99} ms`,
      '',
    ]);
}
for (const w of (r.wide ?? []) as WideReport[]) {
  rows.push([
    `fan-out of one event to ${w.endpoints} endpoints`,
    `${w.deliveriesPerSecond.toFixed(1)} deliveries/s, ${w.distinct} endpoints reached, ${w.duplicates} duplicates; ${w.runs} event runs, largest ${w.maxHistoryLength} events / ${(w.maxHistorySizeBytes / 1024).toFixed(0)} KiB; a small event sent half-way arrived in ${w.smallEventMs} ms`,
    ratio(w.deliveriesPerSecond),
  ]);
}
if (r.historyEventsPerDeliveredEvent) {
  rows.push(['Temporal history events per delivered event', String(r.historyEventsPerDeliveredEvent), '']);
}
rows.push(['peak RSS of the process (API + worker + bench)', `${r.peakRssMb} MB`, '']);
const table = [
  '| measure | result | vs limit |',
  '| --- | --- | --- |',
  ...rows.map((x) => `| ${x.join(' | ')} |`),
].join('\n');
const cpuTable = [
  '| phase | CPU share (100 % = one core) |',
  '| --- | --- |',
  ...Object.entries(r.cpu as Record<string, string>).map(([k, v]) => `| ${k} | ${v} |`),
].join('\n');
console.log(table);
console.log();
console.log(cpuTable);
if (costTable) console.log(`\n${costTable}`);
const temporalVersion = (() => {
  try {
    return execFileSync('.tools/temporal/bin/temporal', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
await mkdir('bench/results', { recursive: true });
const record = {
  at: new Date(),
  machine,
  hookline: VERSION,
  temporal: temporalVersion,
  quick,
  only: values.only,
  results,
};
await writeFile(
  `bench/results/${only ? 'partial' : quick ? 'quick' : 'latest'}.json`,
  JSON.stringify(record, null, 2) + '\n',
);
if (!only && !quick) {
  // The generated part is replaced; the sections written by hand after it (each a `## ` heading
  // marked with its issue, such as "(issue #16)") are kept.
  const kept = (() => {
    try {
      const old = readFileSync('docs/benchmarks.md', 'utf8');
      const at = old.search(/^## .*\(issue #\d+\)/m);
      return at < 0 ? '' : `\n${old.slice(at)}`;
    } catch {
      return '';
    }
  })();
  await writeFile(
    'docs/benchmarks.md',
    `# Benchmarks\n\nRun on ${new Date().toISOString().slice(0, 10)}: ${machine}; Hookline ${VERSION}; ${temporalVersion}; embedded dev server (SQLite) and PostgreSQL, API and worker in one process.\nReproduce: \`npm run bench${quick ? ' -- --quick' : ''}\` (results also in bench/results/latest.json). This machine is shared and noisy: compare ratios against the limit, not only absolute numbers.\n\n${table}\n\nCPU during each phase (the bench, API and worker share the Node process; the dev server is its own process):\n\n${cpuTable}\n${costTable ? `\n${costTable}\n` : ''}${kept}`,
  );
}

/** The cost phase as a table: everything per delivered event, the Rust peer's ≈ 2 ms beside it. */
function costRows(c: CostReport, floor?: CeilingReport): string {
  const f = (x: number, d = 1) => x.toFixed(d);
  return [
    `Cost per delivered event (${c.events} events, one endpoint each, closed loop of ${WINDOW}; ${f(c.deliveriesPerSecond)} deliveries/s; Temporal facts from ${c.sampled} sampled events; other processes on the machine used ${f(c.othersCores, 2)} cores meanwhile):`,
    '',
    '| per delivered event | value |',
    '| --- | --- |',
    ...c.processes.map((p) => `| CPU, ${p.name} | ${f(p.ms)} ms |`),
    ...(floor
      ? [
          `| CPU of the shape alone (bench/ceiling.ts handoff: its Node / its dev server) | ${f(floor.cpuMs.node)} / ${f(floor.cpuMs.temporal)} ms |`,
        ]
      : []),
    `| CPU, all (reference: a Rust peer on this machine, ≈ 2 ms) | ${f(c.cpuMs.total)} ms |`,
    `| Temporal history events (event + delivery workflow) | ${f(c.temporal.historyEvents)} |`,
    `| Temporal history size (JSON) | ${f(c.temporal.historyBytes / 1024)} KiB |`,
    `| workflow tasks | ${f(c.temporal.workflowTasks)} |`,
    `| state transitions (describe) | ${f(c.temporal.stateTransitions)} |`,
    `| visibility writes (starts, closes, search-attribute upserts) | ${f(c.temporal.visibilityWrites)} |`,
    `| PostgreSQL transactions (Hookline's database) | ${f(c.postgres.transactions)} |`,
    `| PostgreSQL row writes (Hookline's database) | ${f(c.postgres.rowWrites)} |`,
    `| PostgreSQL statements from Hookline's pool | ${f(c.postgres.statements)} |`,
    ...c.postgres.byStatement.map(
      (s) => `| … \`${s.statement.replaceAll('|', '\\|')}\` | ${f(s.perEvent, 2)} |`,
    ),
    ...Object.entries(c.temporalPostgres ?? {}).map(
      ([db, t]) =>
        `| PostgreSQL transactions / row writes, Temporal's \`${db}\` | ${f(t.transactions)} / ${f(t.rowWrites)} |`,
    ),
    `| log lines (info and above) | ${f(c.logLines)} |`,
  ].join('\n');
}
