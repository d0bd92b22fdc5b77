import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  call,
  embeddedPids,
  leftovers,
  newInstallation,
  postgresTree,
  produce,
  webhookIds,
  type HooklineProcess,
  type Installation,
  signalAll,
  startTracked,
  cleanUpInstallation,
} from '../helpers/installation.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitUntil } from '../helpers/wait.js';

// Issue 12, scenario 5: PostgreSQL frozen (SIGSTOP, the worst case: connections hang instead of
// being refused) for 30 s under a steady 10 events a second, then killed outright.
describe('PostgreSQL down under load', () => {
  let inst: Installation;
  let receiver: Receiver;
  let proc: HooklineProcess;
  let endpointId: string;
  const known: number[] = [];
  let frozen: number[] = [];

  before(async () => {
    receiver = await startReceiver();
    // The default rate limit (100/s): the load and its retries stay under it, as in the report,
    // where only requests that had waited out the outage went over it.
    inst = await newInstallation();
    proc = await startTracked(inst, known);
    const ep = await call(proc, inst, 'POST', '/api/endpoints', {
      name: 'fault',
      url: `${receiver.url}/fault`,
      events: ['*'],
      retryConfig: { strategy: 'fixed', baseDelay: 2000, maxAttempts: 50 },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    endpointId = ep.body.id;
  });

  after(async () => {
    signalAll(frozen, 'SIGCONT');
    await cleanUpInstallation(proc, inst, known);
    await receiver?.close();
  });

  const delivered = async (accepted: string[]) => {
    const expected = accepted.map((id) => `msg_${id}_${endpointId}`);
    await waitUntil(async () => expected.every((id) => webhookIds(receiver.received).has(id)), 120_000).catch(
      () => {
        const got = webhookIds(receiver.received);
        throw new Error(
          `not delivered: ${expected.filter((id) => !got.has(id)).length} of ${expected.length}`,
        );
      },
    );
  };

  it('answers 503 with Retry-After within seconds while frozen for 30 s, never 500 or 429, then delivers every accepted event', async () => {
    const load = produce(proc, inst, { perSecond: 10 });
    await waitUntil(async () => load.accepted.length >= 30);

    frozen = postgresTree(embeddedPids(inst).postgres!);
    signalAll(frozen, 'SIGSTOP');
    const frozenAt = Date.now();
    const health: Array<{ ms: number; status: number; body: any }> = [];
    while (Date.now() - frozenAt < 30_000) {
      const started = Date.now();
      const res = await fetch(`${proc.apiUrl}/health`, { signal: AbortSignal.timeout(20_000) });
      health.push({ ms: Date.now() - started, status: res.status, body: await res.json() });
      await new Promise((r) => setTimeout(r, 1000));
    }
    signalAll(frozen, 'SIGCONT');
    const thawedAt = Date.now();
    frozen = [];
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

    await delivered(load.accepted);
  });

  it('restarts PostgreSQL killed with -9, counts the restart, and delivers', async () => {
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
    known.push(embeddedPids(inst).postgres!);
    await load.stop();
    assert.equal(load.accepted.length, 60);
    await delivered(load.accepted);
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
    process.kill(proc.pid, 'SIGTERM');
    await proc.exited;
    await waitUntil(async () => leftovers(inst, known).length === 0, 15_000).catch(() => {
      throw new Error(`left behind:\n${leftovers(inst, known).join('\n')}`);
    });
  });
});
