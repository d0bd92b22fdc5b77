import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { faultScenario } from '../helpers/fault-scenario.js';
import { call, embeddedPids, type HooklineProcess } from '../helpers/installation.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Intake against real processes: `src/main.ts` in its own process group with its embedded
 * PostgreSQL and Temporal dev server; faults by signal to the PIDs of this installation.
 */
describe('intake survives a crash and an engine outage, losing nothing', () => {
  const fault = faultScenario({ env: { HOOKLINE_RATE_LIMIT: '0' } });

  const start = () => fault.start({ ownGroup: true });
  const devServerPid = () => {
    const pid = embeddedPids(fault.inst).temporal;
    assert.ok(pid, 'the dev server runs');
    return pid;
  };
  /** kill -9 of the whole process group, then its embedded parts are stopped by their watchdogs. */
  const killGroup = async (p: HooklineProcess) => {
    process.kill(-p.pid, 'SIGKILL');
    await p.exited;
    await fault.noLeftovers(30_000);
  };

  const webhookIds = (route: string) => fault.receiver.to(route).map((r) => String(r.headers['webhook-id']));

  it('kill -9 of the process group while the dev server is paused: after a restart, the same requests are duplicates and every event is delivered once', async () => {
    const { inst, receiver } = fault;
    let proc = await start();
    const ep = await call(proc, inst, 'POST', '/api/endpoints', {
      name: 'crash',
      url: `${receiver.url}/crash`,
      events: ['crash.*'],
    });
    assert.equal(ep.status, 201);
    process.kill(devServerPid(), 'SIGSTOP');
    const requests = Array.from({ length: 20 }, (_, i) => ({
      body: { type: 'crash.sent', payload: { i } },
      key: `crash-${i}`,
    }));
    const send = (p: HooklineProcess) =>
      Promise.all(
        requests.map((r) => call(p, inst, 'POST', '/api/events', r.body, { 'Idempotency-Key': r.key })),
      );
    const first = await send(proc);
    assert.deepEqual(
      first.map((r) => r.status),
      requests.map(() => 202),
    );
    await killGroup(proc);

    proc = await start();
    const again = await send(proc);
    assert.deepEqual(
      again.map((r) => r.status),
      requests.map(() => 200),
    );
    assert.deepEqual(
      again.map((r) => r.body.eventId),
      first.map((r) => r.body.eventId),
    );
    await receiver.waitFor(requests.length, { path: '/crash', timeoutMs: 120_000 });
    const p = proc;
    await waitUntil(async () => {
      const statuses = await Promise.all(
        first.map(async (r) => (await call(p, inst, 'GET', `/api/events/${r.body.eventId}`)).body.status),
      );
      return statuses.every((s) => s === 'delivered');
    }, 60_000);
    const ids = webhookIds('/crash');
    assert.equal(new Set(ids).size, requests.length);
    assert.equal(ids.length, requests.length, 'each webhook-id once');
  });

  it('the dev server paused for 30 s under 10 events/s: every event answers 202 within a second, /health names Temporal as down, and every event is delivered after SIGCONT', async () => {
    const { inst, receiver } = fault;
    const p = fault.proc!;
    const ep = await call(p, inst, 'POST', '/api/endpoints', {
      name: 'pause',
      url: `${receiver.url}/pause`,
      events: ['pause.*'],
    });
    assert.equal(ep.status, 201);
    const dev = devServerPid();
    process.kill(dev, 'SIGSTOP');
    let resumed = false;
    try {
      const count = 300;
      const started = Date.now();
      const health = (async () => {
        await new Promise((r) => setTimeout(r, 5_000));
        const t = performance.now();
        const res = await fetch(`${p.apiUrl}/health`);
        return {
          status: res.status,
          body: (await res.json()) as Record<string, unknown>,
          ms: performance.now() - t,
        };
      })();
      const results = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          await new Promise((r) => setTimeout(r, started + i * 100 - Date.now()));
          return call(p, inst, 'POST', '/api/events', { type: 'pause.sent', payload: { i } });
        }),
      );
      const h = await health;
      await new Promise((r) => setTimeout(r, Math.max(0, started + 30_000 - Date.now())));
      process.kill(dev, 'SIGCONT');
      resumed = true;

      assert.deepEqual(
        results.filter((r) => r.status !== 202).map((r) => r.status),
        [],
      );
      const slowest = Math.max(...results.map((r) => r.ms));
      assert.ok(slowest < 1000, `slowest answer ${Math.round(slowest)} ms`);
      assert.equal(h.status, 200);
      assert.equal(h.body.status, 'degraded');
      assert.equal(h.body.temporal, 'down');
      assert.equal(h.body.database, 'ok');
      assert.ok(h.ms < 3000, `/health answered in ${Math.round(h.ms)} ms`);

      await receiver.waitFor(count, { path: '/pause', timeoutMs: 180_000 });
      const ids = webhookIds('/pause');
      assert.equal(new Set(ids).size, count);
    } finally {
      if (!resumed) process.kill(dev, 'SIGCONT');
    }
  });

  it('SIGTERM stops the process and everything it started', async () => {
    const proc = fault.proc!;
    process.kill(proc.pid, 'SIGTERM');
    await proc.exited;
    await fault.noLeftovers(30_000);
  });
});
