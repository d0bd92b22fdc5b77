import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Db } from '../../src/db/pool.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/postgres.js';
import { freePort } from './ports.js';

/**
 * A real embedded PostgreSQL for a suite that needs no Temporal: migrated, with one application
 * `app`, started before the suite's tests and removed after them. `db()` is its pool (valid once
 * the suite's `before` has run).
 */
export function migratedPostgres(name: string, poolSize?: number): { db(): Db } {
  let dir: string;
  let pg: EmbeddedPostgresHandle | undefined;
  let db: Db | undefined;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `hookline-${name}-`));
    pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
    db = createPool(pg.url, poolSize);
    await migrate(db);
    await db.query(`INSERT INTO applications (id, name) VALUES ('app', 'app')`);
  });
  after(async () => {
    await db?.end();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    db() {
      if (!db) throw new Error('the PostgreSQL of this suite is not started yet');
      return db;
    },
  };
}
