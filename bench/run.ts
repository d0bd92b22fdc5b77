// `npm run bench` — end-to-end benchmark on the real embedded stack (dev server, PostgreSQL,
// worker and API in this process), with a loopback receiver that timestamps every arrival.
// Options: --events N (end-to-end events, default 5000), --quick (small sizes, for a smoke run).
// Writes bench/results/latest.json and docs/benchmarks.md. Everything is bounded in count and time.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { signatureHeaders } from '../src/domain/signing.js';
import { VERSION } from '../src/version.js';
import { startReceiver, type Receiver } from '../test/helpers/receiver.js';
import { api, startStack, type TestStack } from '../test/helpers/stack.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, quick: { type: 'boolean' } } });
const quick = values.quick ?? false;
const E2E_EVENTS = Number(values.events ?? (quick ? 300 : 5000));
const LIMIT_REQUESTS = quick ? 1000 : 5000;
const INGEST_EVENTS = quick ? 200 : 2000;
const HOT_EVENTS = quick ? 200 : 1000;
const LATENCY_SECONDS = quick ? 10 : 30;
const CONCURRENCY = 32;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Runs `n` jobs with at most `concurrency` in flight, reporting progress. */
async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>, label: string) {
  let next = 0;
  let done = 0;
  const progress = setInterval(() => log(`${label}: ${done}/${n}`), 2000);
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < n) {
          const i = next++;
          await job(i);
          done++;
        }
      }),
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

async function main() {
  const receiver = await startReceiver();
  const stack = await startStack({ env: { HOOKLINE_RATE_LIMIT: '0', HOOKLINE_LOG_LEVEL: 'warn' } });
  const results: Record<string, unknown> = {};
  try {
    // 1. The limit: signed undici POSTs straight to the receiver.
    const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
    const body = JSON.stringify({ order: { id: 'ORD-1', amount: 299.99 } });
    let started = performance.now();
    await pool(
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
    );
    const limit = LIMIT_REQUESTS / ((performance.now() - started) / 1000);
    await agent.close();
    results.limit = { requestsPerSecond: limit };
    log(`limit ${limit.toFixed(0)}/s`);

    // 2. Ingest: events accepted per second (type matched by no endpoint).
    started = performance.now();
    await pool(
      INGEST_EVENTS,
      CONCURRENCY,
      async (i) => void (await api(stack, 'POST', '/api/events', { type: 'bench.nobody', payload: { i } })),
      'ingest single',
    );
    const ingestSingle = INGEST_EVENTS / ((performance.now() - started) / 1000);
    started = performance.now();
    const batches = INGEST_EVENTS / 100;
    await pool(
      batches,
      4,
      async (b) =>
        void (await api(stack, 'POST', '/api/events/batch', {
          events: Array.from({ length: 100 }, (_, i) => ({ type: 'bench.nobody', payload: { b, i } })),
        })),
      'ingest batch',
    );
    const ingestBatch = INGEST_EVENTS / ((performance.now() - started) / 1000);
    results.ingest = { singlePerSecond: ingestSingle, batchPerSecond: ingestBatch };
    log(`ingest single ${ingestSingle.toFixed(0)}/s, batch ${ingestBatch.toFixed(0)}/s`);
    // Let the ingest phase's workflows drain before measuring deliveries.
    await new Promise((r) => setTimeout(r, quick ? 3000 : 15_000));

    // 3. End to end: E2E_EVENTS events, one endpoint each (spread over 10 endpoints).
    await endpoints(stack, receiver, 'e2e', 10, ['e2e.*']);
    receiver.received.length = 0;
    started = performance.now();
    await pool(
      E2E_EVENTS,
      CONCURRENCY,
      async (i) => void (await api(stack, 'POST', '/api/events', { type: 'e2e.x', payload: { i } })),
      'end-to-end send',
    );
    await waitArrivals(receiver, E2E_EVENTS, 'end-to-end');
    const e2e = E2E_EVENTS / ((performance.now() - started) / 1000);
    results.endToEnd = { events: E2E_EVENTS, deliveriesPerSecond: e2e };
    log(`end to end ${e2e.toFixed(1)}/s`);

    // 4. Fan-out: one event to 10 and to 100 endpoints.
    const fanout: Record<string, number> = {};
    for (const n of [10, 100]) {
      await endpoints(stack, receiver, `fan${n}-`, n, [`fan${n}.*`]);
      receiver.received.length = 0;
      started = performance.now();
      await api(stack, 'POST', '/api/events', { type: `fan${n}.x`, payload: {} });
      await waitArrivals(receiver, n, `fan-out ${n}`);
      fanout[`to${n}`] = n / ((performance.now() - started) / 1000);
    }
    results.fanOut = fanout;
    log(`fan-out ${JSON.stringify(fanout)}`);

    // 5. A hot endpoint against the same load spread over ten (each event to exactly one endpoint).
    await endpoints(stack, receiver, 'hot', 1, ['hot.*']);
    for (let k = 0; k < 10; k++) await endpoints(stack, receiver, `sp${k}-`, 1, [`sp${k}.x`]);
    const rate = async (type: (i: number) => string, label: string) => {
      receiver.received.length = 0;
      const t0 = performance.now();
      await pool(
        HOT_EVENTS,
        CONCURRENCY,
        async (i) => void (await api(stack, 'POST', '/api/events', { type: type(i), payload: { i } })),
        label,
      );
      await waitArrivals(receiver, HOT_EVENTS, label);
      return HOT_EVENTS / ((performance.now() - t0) / 1000);
    };
    const hot = await rate(() => 'hot.x', 'hot');
    const spread = await rate((i) => `sp${i % 10}.x`, 'spread');
    results.hotEndpoint = { hotPerSecond: hot, spreadPerSecond: spread, ratio: hot / spread };
    log(`hot ${hot.toFixed(1)}/s, spread ${spread.toFixed(1)}/s`);

    // 6. Latency at a fixed arrival rate of about half the sustained end-to-end rate.
    const target = Math.max(1, e2e / 2);
    const total = Math.round(target * LATENCY_SECONDS);
    receiver.received.length = 0;
    const sentAt = new Map<number, number>();
    const t0 = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / target;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(
        api(stack, 'POST', '/api/events', { type: 'hot.lat', payload: { seq: i } }).then(
          () => void sentAt.set(i, Date.now()),
        ),
      );
    }
    await Promise.all(sends);
    // Only this phase's events count (a straggler of an earlier phase carries no `seq`).
    const firstArrival = new Map<number, number>();
    const deadline = Date.now() + 10 * 60_000;
    while (firstArrival.size < total && Date.now() < deadline) {
      for (const r of receiver.received) {
        const seq = (JSON.parse(r.body) as { seq?: number }).seq;
        if (r.path === '/hot0' && seq !== undefined && !firstArrival.has(seq)) firstArrival.set(seq, r.at);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // From the 202's arrival at the client; a webhook can land before it, which counts as 0.
    const latencies = [...firstArrival]
      .map(([seq, at]) => Math.max(0, at - sentAt.get(seq)!))
      .sort((a, b) => a - b);
    results.latency = {
      ratePerSecond: target,
      events: total,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    };
    log(`latency ${JSON.stringify(results.latency)}`);

    // 7. Temporal history events per delivered event (one event, one endpoint).
    const probe = await api(stack, 'POST', '/api/events', { type: 'hot.hist', payload: {} });
    const fan = await stack.platform.temporal.workflow.getHandle(probe.body.workflowId).result();
    let events =
      (await stack.platform.temporal.workflow.getHandle(probe.body.workflowId).fetchHistory()).events
        ?.length ?? 0;
    for (const endpointId of Object.keys(fan.endpoints)) {
      events +=
        (
          await stack.platform.temporal.workflow
            .getHandle(`delivery:${probe.body.eventId}:${endpointId}`)
            .fetchHistory()
        ).events?.length ?? 0;
    }
    results.historyEventsPerDeliveredEvent = events;
    results.peakRssMb = Math.round(peakRss / 1024 / 1024);
  } finally {
    clearInterval(sampler);
    await stack.stop();
    await receiver.close();
  }
  return results;
}

const results = await main();
const limit = (results.limit as { requestsPerSecond: number }).requestsPerSecond;
const ratio = (x: number) => `${((x / limit) * 100).toFixed(1)} % of the limit`;
const r = results as any;
const rows = [
  ['limit: signed undici POSTs to the receiver', `${limit.toFixed(0)}/s`, '100 %'],
  [
    'ingest, single requests',
    `${r.ingest.singlePerSecond.toFixed(0)} events/s`,
    ratio(r.ingest.singlePerSecond),
  ],
  [
    'ingest, batches of 100',
    `${r.ingest.batchPerSecond.toFixed(0)} events/s`,
    ratio(r.ingest.batchPerSecond),
  ],
  [
    `end to end, ${r.endToEnd.events} events, one endpoint each`,
    `${r.endToEnd.deliveriesPerSecond.toFixed(1)} deliveries/s`,
    ratio(r.endToEnd.deliveriesPerSecond),
  ],
  ['fan-out, one event to 10 endpoints', `${r.fanOut.to10.toFixed(1)} deliveries/s`, ratio(r.fanOut.to10)],
  ['fan-out, one event to 100 endpoints', `${r.fanOut.to100.toFixed(1)} deliveries/s`, ratio(r.fanOut.to100)],
  [
    'hot endpoint (every event to one endpoint)',
    `${r.hotEndpoint.hotPerSecond.toFixed(1)} deliveries/s`,
    ratio(r.hotEndpoint.hotPerSecond),
  ],
  [
    'the same load spread over 10 endpoints',
    `${r.hotEndpoint.spreadPerSecond.toFixed(1)} deliveries/s (hot/spread ${r.hotEndpoint.ratio.toFixed(2)})`,
    ratio(r.hotEndpoint.spreadPerSecond),
  ],
  [
    `latency 202 → arrival at ${r.latency.ratePerSecond.toFixed(1)} events/s`,
    `p50 ${r.latency.p50} ms, p95 ${r.latency.p95} ms, p99 ${r.latency.p99} ms`,
    '',
  ],
  ['Temporal history events per delivered event', String(r.historyEventsPerDeliveredEvent), ''],
  ['peak RSS of the process (API + worker + bench)', `${r.peakRssMb} MB`, ''],
];
const table = [
  '| measure | result | vs limit |',
  '| --- | --- | --- |',
  ...rows.map((x) => `| ${x.join(' | ')} |`),
].join('\n');
console.log(table);
const temporalVersion = (() => {
  try {
    return execFileSync('.tools/temporal/bin/temporal', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
await mkdir('bench/results', { recursive: true });
await writeFile(
  'bench/results/latest.json',
  JSON.stringify(
    { at: new Date(), machine, hookline: VERSION, temporal: temporalVersion, quick, results },
    null,
    2,
  ) + '\n',
);
await writeFile(
  'docs/benchmarks.md',
  `# Benchmarks\n\nRun on ${new Date().toISOString().slice(0, 10)}: ${machine}; Hookline ${VERSION}; ${temporalVersion}; embedded dev server (SQLite) and PostgreSQL, API and worker in one process.\nReproduce: \`npm run bench${quick ? ' -- --quick' : ''}\` (results also in bench/results/latest.json). This machine is shared and noisy: compare ratios against the limit, not only absolute numbers.\n\n${table}\n`,
);
