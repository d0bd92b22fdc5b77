import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/postgres.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../helpers/ports.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * With DATABASE_URL and TEMPORAL_ADDRESS (external services), Hookline does not exit when they
 * are down at start: it waits for them, says so once, and starts when they answer.
 */
describe('external PostgreSQL and Temporal down at start', () => {
  let dir: string | undefined;
  let pg: EmbeddedPostgresHandle | undefined;
  let temporal: DevServer | undefined;
  let stack: TestStack | undefined;
  let receiver: Receiver | undefined;

  after(async () => {
    await stack?.stop();
    await temporal?.stop();
    await pg?.stop();
    await receiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('waits for both, then starts and delivers', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hookline-external-'));
    const [pgPort, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
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
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(started, false, 'nothing to start on yet');
    assert.ok(logs.some((l) => l.includes('PostgreSQL (DATABASE_URL) is not reachable; waiting for it')));

    pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort });
    await waitUntil(
      async () =>
        logs.some((l) => l.includes('Temporal (TEMPORAL_ADDRESS) is not reachable; waiting for it')),
      60_000,
      200,
    );
    assert.equal(started, false);
    temporal = await startDevServer({
      dataDir: path.join(dir, 'temporal'),
      port: temporalPort,
      uiPort,
      namespace: 'default',
    });
    stack = await starting;

    receiver = await startReceiver();
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
