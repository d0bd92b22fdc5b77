import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startEmbeddedPostgres } from '../../src/infra/postgres.js';
import { startDevServer } from '../../src/temporal/dev-server.js';
import { faultScenario } from '../helpers/fault-scenario.js';
import { api, startStack, workflowBundle } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * With DATABASE_URL and TEMPORAL_ADDRESS (external services), Hookline does not exit when they
 * are down at start: it waits for them, says so once, and starts when they answer.
 */
describe('external PostgreSQL and Temporal down at start', () => {
  // The installation gives the data dir and free ports of the "external" services started here.
  const fault = faultScenario();

  it('waits for both, then starts and delivers', async () => {
    const { inst, receiver } = fault;
    const [dir, pgPort, temporalPort, uiPort] = [
      inst.dataDir,
      inst.postgresPort,
      inst.temporalPort,
      inst.temporalUiPort,
    ];
    // Bundled first: webpack on a busy machine is slow, and the start below should be waiting soon.
    await workflowBundle();
    const logs: string[] = [];
    let started = false;
    const starting = startStack({
      logs,
      env: {
        DATABASE_URL: `postgres://hookline:hookline@127.0.0.1:${pgPort}/hookline`,
        TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      },
    }).then((s) => {
      started = true;
      return s;
    });
    starting.catch(() => undefined);
    // Waited for, not given a fixed 3 s: a busy machine may take longer to reach the first ping.
    await waitUntil(
      async () => logs.some((l) => l.includes('PostgreSQL (DATABASE_URL) is not reachable; waiting for it')),
      60_000,
      200,
    );
    assert.equal(started, false, 'nothing to start on yet');

    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort });
    fault.defer(() => pg.stop());
    await waitUntil(
      async () =>
        logs.some((l) => l.includes('Temporal (TEMPORAL_ADDRESS) is not reachable; waiting for it')),
      60_000,
      200,
    );
    assert.equal(started, false);
    const temporal = await startDevServer({
      dataDir: path.join(dir, 'temporal'),
      port: temporalPort,
      uiPort,
      namespace: 'default',
    });
    fault.defer(() => temporal.stop());
    const stack = await starting;
    fault.defer(() => stack.stop());

    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'late',
      url: `${receiver.url}/late`,
      events: ['late.*'],
    });
    assert.equal(ep.status, 201);
    assert.equal((await api(stack, 'POST', '/api/events', { type: 'late.ok', payload: {} })).status, 202);
    await receiver.waitFor(1, { path: '/late', timeoutMs: 60_000 });
  });
});
