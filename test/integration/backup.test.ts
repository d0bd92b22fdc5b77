import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { backup, restore, TABLES } from '../../scripts/backup.js';
import { loadConfig } from '../../src/config.js';
import { freePort } from '../helpers/ports.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, type TestStack, workflowResult } from '../helpers/stack.js';

describe('backup and restore', () => {
  const cleanup: string[] = [];
  let receiver: Receiver;
  let restored: TestStack | undefined;

  after(async () => {
    await restored?.stop();
    await receiver?.close();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('restores endpoints, events, deliveries and Temporal history into a fresh data dir', async () => {
    receiver = await startReceiver();
    const original = await startStack();
    cleanup.push(original.dataDir);
    const ep = await api(original, 'POST', '/api/endpoints', {
      name: 'kept',
      url: `${receiver.url}/kept`,
      events: ['*'],
    });
    const ev = await api(original, 'POST', '/api/events', { type: 'kept.x', payload: { keep: true } });
    await workflowResult(original, ev.body.workflowId);
    await original.stop({ keepData: true }); // the Temporal file is copied while Hookline is stopped

    const dir = await mkdtemp(path.join(tmpdir(), 'hookline-backup-'));
    cleanup.push(dir);
    const counts = await backup(
      dir,
      loadConfig({
        HOOKLINE_DATA_DIR: original.dataDir,
        HOOKLINE_POSTGRES_PORT: String(original.config.postgresPort),
        HOOKLINE_TEMPORAL_PORT: String(original.config.temporalPort),
      }),
    );
    assert.equal(counts.endpoints, 1);
    assert.equal(counts.events, 1);
    assert.equal(counts.delivery_attempts, 1);
    const files = await readdir(dir);
    for (const t of TABLES) assert.ok(files.includes(`${t}.ndjson`), t);
    assert.ok(files.includes('temporal.sqlite'));

    const fresh = await mkdtemp(path.join(tmpdir(), 'hookline-restored-'));
    cleanup.push(fresh);
    const port = String(await freePort());
    await restore(dir, loadConfig({ HOOKLINE_DATA_DIR: fresh, HOOKLINE_POSTGRES_PORT: port }));
    restored = await startStack({
      dataDir: fresh,
      apiKey: original.apiKey,
      env: { HOOKLINE_POSTGRES_PORT: port },
    });
    const endpoint = await api(restored, 'GET', `/api/endpoints/${ep.body.id}`);
    assert.equal(endpoint.status, 200);
    assert.equal(endpoint.body.name, 'kept');
    const event = await api(restored, 'GET', `/api/events/${ev.body.eventId}`);
    assert.deepEqual(event.body.payload, { keep: true });
    assert.equal(event.body.deliveries[0].status, 'delivered');
    const described = await restored.platform.temporal.workflow.getHandle(ev.body.workflowId).describe();
    assert.equal(described.status.name, 'COMPLETED', 'the Temporal history came back too');
    await assert.rejects(restore(dir, restored.config), /already holds Hookline data/);
  });
});
