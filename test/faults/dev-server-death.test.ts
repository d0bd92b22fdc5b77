import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { faultScenario } from '../helpers/fault-scenario.js';
import { embeddedPids, produce } from '../helpers/installation.js';
import { waitUntil } from '../helpers/wait.js';

// Issue 12, scenario 4: the embedded Temporal dev server is killed (kill -9) under load.
describe('the death of the embedded dev server', () => {
  const fault = faultScenario({ start: true });

  it('is restarted on the same port and data, once, and every accepted event is delivered', async () => {
    const { inst, receiver } = fault;
    const proc = fault.proc!;
    const endpointId = await fault.faultEndpoint({
      retryConfig: { strategy: 'fixed', baseDelay: 1000, maxAttempts: 50 },
    });
    const load = produce(proc, inst, { perSecond: 10, total: 200 });
    await waitUntil(async () => load.accepted.length >= 40);

    const before = embeddedPids(inst).temporal!;
    const logBefore = proc.output().length;
    process.kill(before, 'SIGKILL');
    const killedAt = Date.now();
    // While it is down and coming back, /health answers quickly and says what is down.
    const health: Array<{ ms: number; status: number; body: any }> = [];
    await waitUntil(
      async () => {
        const started = Date.now();
        const res = await fetch(`${proc.apiUrl}/health`, { signal: AbortSignal.timeout(10_000) });
        health.push({ ms: Date.now() - started, status: res.status, body: await res.json() });
        const now = embeddedPids(inst).temporal;
        return now !== undefined && now !== before && health.at(-1)!.body.temporal === 'ok';
      },
      60_000,
      250,
    );
    const restartedAfter = Date.now() - killedAt;
    fault.track(embeddedPids(inst).temporal);
    await load.stop();
    assert.equal(load.accepted.length, 200);

    await fault.allDelivered(load.accepted, endpointId, 120_000);
    const log = proc.output().slice(logBefore);
    const restarts = log.split('\n').filter((l) => l.includes('"msg":"temporal restarted"'));
    const temporalLines = log.split('\n').filter((l) => l.includes('"component":"temporal"'));
    const metrics = await (await fetch(`${proc.apiUrl}/metrics`)).text();
    const refused = load.answers.filter((a) => a.status === 503);
    process.stdout.write(
      `# dev server back after ${restartedAfter} ms; /health max ${Math.max(...health.map((h) => h.ms))} ms ` +
        `over ${health.length} checks (${[...new Set(health.map((h) => `${h.status} ${h.body.status}`))].join(', ')}); ` +
        `${refused.length} answers 503, ${temporalLines.length} Temporal log lines; ` +
        `${load.accepted.length} accepted, all delivered (${receiver.received.length} requests)\n`,
    );
    assert.equal(restarts.length, 1, 'one log line for the restart');
    assert.match(metrics, /hookline_embedded_restarts_total\{part="temporal"\} 1/);
    assert.ok(temporalLines.length < 50, `${temporalLines.length} Temporal log lines`);
    assert.ok(
      health.every((h) => h.ms <= 2_500),
      `/health took ${health.map((h) => h.ms).join(', ')} ms`,
    );
    // The restart (1.3–2 s) is about as long as one check (1.5 s, and Temporal's client retries
    // within it), so a check may see the server back already: it must answer 200, never 503, and
    // name only what is down at its end. The last test keeps the server down and checks the naming.
    assert.ok(
      health.every((h) => h.status === 200 && (h.body.status === 'ok' || h.body.status === 'degraded')),
      JSON.stringify(health.map((h) => h.body)),
    );
    for (const a of refused) assert.ok(a.retryAfter, 'every 503 says when to retry');
  });

  it('stops everything it started', async () => {
    const proc = fault.proc!;
    process.kill(proc.pid, 'SIGTERM');
    await proc.exited;
    await fault.noLeftovers(15_000);
  });

  it('exits non-zero, with the reason, when the dev server cannot be restarted', async () => {
    const { inst } = fault;
    const proc = await fault.start();
    const dev = embeddedPids(inst).temporal!;
    // Another program takes the dev server's port the moment it is free: no restart can work.
    const squatter = createServer((socket) => socket.destroy());
    process.kill(dev, 'SIGKILL');
    const killedAt = Date.now();
    await waitUntil(
      () =>
        new Promise<boolean>((resolve) => {
          squatter.once('error', () => resolve(false));
          squatter.listen(inst.temporalPort, '127.0.0.1', () => resolve(true));
        }),
      10_000,
      20,
    );
    try {
      // While no restart can work, /health answers within its bound and names Temporal down.
      const started = Date.now();
      const res = await fetch(`${proc.apiUrl}/health`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { status: string; temporal: string; database: string };
      const ms = Date.now() - started;
      assert.ok(ms <= 2_500, `/health took ${ms} ms`);
      assert.equal(res.status, 200);
      assert.equal(body.status, 'degraded');
      assert.equal(body.temporal, 'down');
      assert.equal(body.database, 'ok');
      const { code } = await proc.exited;
      const took = Date.now() - killedAt;
      const attempts = proc
        .output()
        .split('\n')
        .filter((l) => /"msg":"temporal restart attempt \d+ failed"/.test(l));
      process.stdout.write(
        `# gave up after ${attempts.length} failed restarts, exit code ${code}, ${took} ms after the kill\n`,
      );
      assert.equal(code, 1);
      assert.equal(attempts.length, 5);
      assert.match(proc.output(), /could not be restarted after 5 attempts/);
      assert.match(proc.output(), new RegExp(`port ${inst.temporalPort} is held by process ${process.pid}`));
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    await fault.noLeftovers(15_000);
  });
});
