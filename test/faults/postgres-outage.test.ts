import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { faultScenario } from '../helpers/fault-scenario.js';
import { embeddedPids, postgresTree, produce } from '../helpers/installation.js';
import { waitUntil } from '../helpers/wait.js';

// Issue 12, scenario 5: PostgreSQL frozen (SIGSTOP, the worst case: connections hang instead of
// being refused) for 30 s under a steady 10 events a second, then killed outright.
describe('PostgreSQL down under load', () => {
  // The default rate limit (100/s): the load and its retries stay under it, as in the report,
  // where only requests that had waited out the outage went over it.
  const fault = faultScenario({ start: true });
  let endpointId: string;

  before(async () => {
    endpointId = await fault.faultEndpoint({
      retryConfig: { strategy: 'fixed', baseDelay: 2000, maxAttempts: 50 },
    });
  });

  it('answers 503 with Retry-After within seconds while frozen for 30 s, never 500 or 429, then delivers every accepted event', async () => {
    const { inst } = fault;
    const proc = fault.proc!;
    const load = produce(proc, inst, { perSecond: 10 });
    await waitUntil(async () => load.accepted.length >= 30);

    fault.freeze(postgresTree(embeddedPids(inst).postgres!));
    const frozenAt = Date.now();
    const health: Array<{ ms: number; status: number; body: any }> = [];
    while (Date.now() - frozenAt < 30_000) {
      const started = Date.now();
      const res = await fetch(`${proc.apiUrl}/health`, { signal: AbortSignal.timeout(20_000) });
      health.push({ ms: Date.now() - started, status: res.status, body: await res.json() });
      await new Promise((r) => setTimeout(r, 1000));
    }
    fault.thaw();
    const thawedAt = Date.now();
    await waitUntil(async () => load.answers.some((a) => a.at > thawedAt && a.status === 202), 30_000);
    await load.stop();

    const during = load.answers.filter((a) => a.at >= frozenAt && a.at < thawedAt);
    const refused = during.filter((a) => a.status === 503);
    const firstRefusal = Math.min(...refused.map((a) => a.at + a.ms)) - frozenAt;
    const statuses = [...new Set(load.answers.map((a) => a.status))].sort();
    process.stdout.write(
      `# frozen 30 s: first 503 after ${firstRefusal} ms; answers while frozen: ${during.length}, ` +
        `slowest ${Math.max(...during.map((a) => a.ms))} ms; statuses over the run: ${statuses.join(', ')}; ` +
        `/health slowest ${Math.max(...health.map((h) => h.ms))} ms (${[...new Set(health.map((h) => `${h.status} ${h.body.failing}`))].join('; ')}); ` +
        `${load.accepted.length} accepted\n`,
    );
    assert.ok(refused.length > 0, 'requests were refused while the database was frozen');
    assert.ok(firstRefusal <= 5_000, `first 503 after ${firstRefusal} ms`);
    assert.ok(
      during.every((a) => a.ms <= 5_000),
      `an answer took ${Math.max(...during.map((a) => a.ms))} ms`,
    );
    for (const a of refused) assert.equal(a.retryAfter, '5');
    assert.deepEqual(
      // 200: a retry (same Idempotency-Key) of a request answered 503 whose INSERT the frozen
      // server still committed when it thawed; the producer gets its event, once.
      statuses.filter((s) => s !== 200 && s !== 202 && s !== 503),
      [],
      'only 202, 200 and 503 (no 500, no 429, no dropped connection)',
    );
    assert.ok(
      health.every((h) => h.ms <= 2_000 && h.status === 503 && h.body.failing.includes('database')),
      `/health: ${JSON.stringify(health.map((h) => [h.ms, h.status, h.body.failing]))}`,
    );

    await fault.allDelivered(load.accepted, endpointId, 120_000);
  });

  it('restarts PostgreSQL killed with -9, counts the restart, and delivers', async () => {
    const { inst } = fault;
    const proc = fault.proc!;
    const before = embeddedPids(inst).postgres!;
    const load = produce(proc, inst, { perSecond: 10, total: 60 });
    await waitUntil(async () => load.accepted.length >= 20);
    process.kill(before, 'SIGKILL');
    await waitUntil(async () => {
      const now = embeddedPids(inst).postgres;
      return now !== undefined && now !== before;
    }, 60_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; Hookline's log:\n${proc.output().slice(-4000)}`);
    });
    fault.track(embeddedPids(inst).postgres);
    await load.stop();
    assert.equal(load.accepted.length, 60);
    await fault.allDelivered(load.accepted, endpointId, 120_000);
    const metrics = await (await fetch(`${proc.apiUrl}/metrics`)).text();
    assert.match(metrics, /hookline_embedded_restarts_total\{part="postgres"\} 1/);
    assert.equal(
      proc
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"postgres restarted"')).length,
      1,
    );
  });

  it('stops everything it started', async () => {
    const proc = fault.proc!;
    process.kill(proc.pid, 'SIGTERM');
    await proc.exited;
    await fault.noLeftovers(15_000);
  });
});
