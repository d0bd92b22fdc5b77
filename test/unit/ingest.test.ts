import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../../src/db/pool.js';
import { BacklogFull, createIngest } from '../../src/ingest/accept.js';
import type { BacklogWatch } from '../../src/ingest/backlog.js';

/** A stand-in for PostgreSQL that records statements and stores rows as INSERT … RETURNING would. */
function recordingDb() {
  const statements: string[] = [];
  const db = {
    async query(sql: string, params: unknown[]) {
      statements.push(sql);
      if (!sql.trimStart().startsWith('INSERT INTO events')) return { rows: [] };
      const rows = [];
      for (let i = 0; i < params.length; i += 11) {
        const [id, application_id, type, source, body, options, tags, priority, idempotency_key, body_hash] =
          params.slice(i, i + 11);
        rows.push({
          id,
          application_id,
          type,
          source,
          body,
          options: JSON.parse(options as string),
          tags,
          status: 'accepted',
          matched: null,
          priority,
          idempotency_key,
          body_hash,
          replays: 0,
          created_at: new Date(),
          dispatched_at: null,
        });
      }
      return { rows };
    },
  };
  return { db: db as unknown as Db, statements };
}

const backlogOf = (pending: number): BacklogWatch => ({
  current: () => ({ pending, oldestSeconds: 0 }),
  added() {},
  refresh: async () => ({ pending, oldestSeconds: 0 }),
  stop() {},
});

describe('intake (the service, without HTTP)', () => {
  it('commits a batch in one statement and answers each item at its index', async () => {
    const { db, statements } = recordingDb();
    const ingest = createIngest({ db, maxBacklog: 0 });
    const results = await ingest.acceptBatch('app_1', [
      { type: 'a.b', payload: { n: 1 } },
      { type: 'not a type', payload: {} },
      { type: 'a.c', payload: { n: 3 } },
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      [202, 400, 202],
    );
    assert.equal(statements.length, 1);
    assert.match(statements[0]!, /^INSERT INTO events/);
  });

  it('stores nothing for a refused event', async () => {
    const { db, statements } = recordingDb();
    const ingest = createIngest({ db, maxBacklog: 0 });
    const r = await ingest.acceptOne(
      'app_1',
      { type: 'a.b', payload: 'x'.repeat(300 * 1024), options: {} },
      undefined,
    );
    assert.equal(r.status, 413);
    assert.equal(statements.length, 0);
  });

  it('refuses with BacklogFull once the dispatch backlog is at its cap, before touching the database', async () => {
    const { db, statements } = recordingDb();
    const ingest = createIngest({ db, maxBacklog: 10, backlog: backlogOf(10) });
    await assert.rejects(
      ingest.acceptOne('app_1', { type: 'a.b', payload: {}, options: {} }, undefined),
      BacklogFull,
    );
    await assert.rejects(ingest.acceptBatch('app_1', [{ type: 'a.b', payload: {} }]), BacklogFull);
    assert.equal(statements.length, 0);
    const below = createIngest({ db, maxBacklog: 10, backlog: backlogOf(9) });
    assert.equal(
      (await below.acceptOne('app_1', { type: 'a.b', payload: {}, options: {} }, undefined)).status,
      202,
    );
  });
});
