// A producer in its own process, as real producers are: it POSTs events to Hookline's API with a
// fixed number of requests in flight and reports the rate and its own CPU. bench/run.ts starts it
// in the ingest phase beside its in-process client: here the producer takes its share of the same
// two cores as one more process (a producer on another machine would take none).
//
// Protocol: argv is one JSON object ({url, apiKey, n, concurrency, batch, type}); the process
// prints `ready`, waits for a line on stdin, sends, then prints one JSON line
// ({seconds, statuses, cpuSeconds}) and exits. A refused event (any status but 202/207) ends it
// with exit code 1 after printing what came back.
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';

interface Job {
  url: string;
  apiKey: string;
  n: number;
  concurrency: number;
  /** Events per request: 1 sends single events to /api/events, more sends /api/events/batch. */
  batch: number;
  type: string;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const agent = new Agent({ connections: job.concurrency, keepAliveTimeout: 30_000 });
const statuses: Record<number, number> = {};

async function sendOne(i: number): Promise<void> {
  const body =
    job.batch === 1
      ? { type: job.type, payload: { i } }
      : { events: Array.from({ length: job.batch }, (_, k) => ({ type: job.type, payload: { i, k } })) };
  const res = await request(`${job.url}${job.batch === 1 ? '/api/events' : '/api/events/batch'}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: `Bearer ${job.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
  const text = await res.body.text();
  if (res.statusCode !== 202 && res.statusCode !== 207) {
    throw new Error(`not accepted: ${res.statusCode} ${text}`);
  }
}

async function run(): Promise<void> {
  const requests = Math.ceil(job.n / job.batch);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < requests) await sendOne(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  process.stdout.write(
    `${JSON.stringify({ seconds, statuses, cpuSeconds: (used.user + used.system) / 1e6 })}\n`,
  );
  await agent.close();
}

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
lines.once('line', () => {
  lines.close();
  run().catch((err: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String(err), statuses })}\n`);
    process.exitCode = 1;
    void agent.close();
  });
});
