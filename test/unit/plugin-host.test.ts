import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import {
  createPluginHost,
  IngestRejected,
  loadPlugins,
  type HooklinePlugin,
} from '../../src/plugins/host.js';

const log = createLogger('silent');
const endpoint = { id: 'ep_1', name: 'A', url: 'https://a.example' };

describe('plugin host', () => {
  it('isolates hooks: a throwing or rejecting plugin is reported, the others still run, emit never throws', async () => {
    const seen: string[] = [];
    const failures: string[] = [];
    const plugins: HooklinePlugin[] = [
      {
        name: 'sync-throw',
        hooks: {
          'endpoint:circuit_closed': () => {
            throw new Error('x');
          },
        },
      },
      {
        name: 'async-reject',
        hooks: { 'endpoint:circuit_closed': async () => Promise.reject(new Error('y')) },
      },
      { name: 'good', hooks: { 'endpoint:circuit_closed': (c) => void seen.push(c.endpoint.id) } },
    ];
    const host = createPluginHost(plugins, log, (plugin, hook) => failures.push(`${plugin} ${hook}`));
    assert.doesNotThrow(() => host.emit('endpoint:circuit_closed', { endpoint }));
    await host.settled();
    assert.deepEqual(seen, ['ep_1']);
    assert.deepEqual(failures.sort(), [
      'async-reject endpoint:circuit_closed',
      'sync-throw endpoint:circuit_closed',
    ]);
  });

  it('runs ingest middleware in order: each sees the previous one’s event; a rejection names its plugin', async () => {
    const host = createPluginHost(
      [
        { name: 'a', ingest: (e) => ({ ...e, payload: { ...(e.payload as object), a: 1 } }) },
        { name: 'noop', ingest: () => undefined },
        {
          name: 'b',
          ingest: (e) => ((e.payload as { a?: number }).a === 1 ? { ...e, source: 'b' } : { reject: 'no a' }),
        },
        { name: 'c', ingest: (e) => (e.type === 'bad' ? { reject: 'bad type' } : e) },
      ],
      log,
    );
    assert.deepEqual(await host.ingest({ type: 'ok', payload: {} }), {
      type: 'ok',
      payload: { a: 1 },
      source: 'b',
    });
    await assert.rejects(host.ingest({ type: 'bad', payload: {} }), (err: unknown) => {
      assert.ok(err instanceof IngestRejected);
      assert.equal(err.plugin, 'c');
      assert.equal(err.message, 'bad type');
      return true;
    });
  });

  it('loads modules by path, and refuses one with an unknown hook or no name at start', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hookline-plugins-'));
    try {
      const good = path.join(dir, 'good.mjs');
      const typo = path.join(dir, 'typo.mjs');
      const nameless = path.join(dir, 'nameless.mjs');
      await writeFile(
        good,
        `export default ({ env }) => ({ name: 'good', hooks: { 'endpoint:down': () => env.X } });`,
      );
      await writeFile(typo, `export default { name: 'typo', hooks: { 'webhook:fail': () => {} } };`);
      await writeFile(nameless, `export default { hooks: {} };`);
      const host = await loadPlugins([good], { env: { X: '1' }, log });
      assert.deepEqual(
        host.plugins.map((p) => p.name),
        ['good'],
      );
      await assert.rejects(loadPlugins([typo], { env: {}, log }), /unknown hook webhook:fail/);
      await assert.rejects(loadPlugins([nameless], { env: {}, log }), /has no name/);
      await assert.rejects(
        loadPlugins([path.join(dir, 'missing.mjs')], { env: {}, log }),
        /could not be loaded/,
      );
      await assert.rejects(loadPlugins(['email'], { env: {}, log }), /HOOKLINE_ALERT_SMTP_URL/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
