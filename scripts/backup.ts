// Backup and restore of Hookline's own data, independent of PostgreSQL versions:
//   npm run backup -- <dir>     every Hookline table as NDJSON, plus the embedded Temporal SQLite file
//   npm run restore -- <dir>    into an empty database (migrations first), and the SQLite file back
// Uses the same settings as npm start (DATABASE_URL or the embedded PostgreSQL under
// HOOKLINE_DATA_DIR). The Temporal file is only copied while Hookline is stopped: a running dev
// server changes it under the copy. With an external Temporal, back up its own database instead.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Db } from '../src/db/pool.js';
import { startEmbeddedPostgres } from '../src/infra/postgres.js';

/** Parents before children, so a restore satisfies every foreign key. */
export const TABLES = [
  'applications',
  'api_keys',
  'endpoints',
  'events',
  'deliveries',
  'delivery_attempts',
  'dead_letters',
  'endpoint_circuits',
] as const;
const TEMPORAL_FILES = ['temporal.sqlite', 'temporal.sqlite-wal', 'temporal.sqlite-shm'];
const BATCH = 1000;

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function withDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  let stopPostgres: (() => Promise<void>) | undefined;
  let url = config.databaseUrl;
  if (!url) {
    url = `postgres://hookline:hookline@127.0.0.1:${config.postgresPort}/hookline`;
    if (!(await portOpen(config.postgresPort))) {
      const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.postgresPort });
      stopPostgres = pg.stop;
      url = pg.url;
    }
  }
  const db = createPool(url, 2, { queryTimeoutMs: 0 });
  try {
    return await fn(db);
  } finally {
    await db.end();
    await stopPostgres?.();
  }
}

export async function backup(dir: string, config: Config = loadConfig()): Promise<Record<string, number>> {
  await mkdir(dir, { recursive: true });
  const counts: Record<string, number> = {};
  await withDatabase(config, async (db) => {
    const client = await db.connect();
    try {
      // One snapshot for every table.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ version: number }>(
        'SELECT max(version) AS version FROM schema_migrations',
      );
      await writeFile(
        path.join(dir, 'manifest.json'),
        JSON.stringify({ schemaVersion: rows[0]?.version, at: new Date() }),
      );
      for (const table of TABLES) {
        const lines: string[] = [];
        // A database at an older schema version lacks later tables: it has no rows in them.
        const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
        for (let offset = 0; exists.rows[0]?.t; offset += BATCH) {
          const batch = await client.query<{ r: unknown }>(
            `SELECT to_jsonb(t) AS r FROM ${table} t ORDER BY ctid LIMIT ${BATCH} OFFSET ${offset}`,
          );
          for (const row of batch.rows) lines.push(JSON.stringify(row.r));
          if (batch.rows.length < BATCH) break;
        }
        await writeFile(path.join(dir, `${table}.ndjson`), lines.join('\n') + (lines.length ? '\n' : ''));
        counts[table] = lines.length;
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  });
  if (!config.temporalAddress) {
    if (await portOpen(config.temporalPort)) {
      console.warn(
        'hookline: the embedded Temporal server is running; stop Hookline to back up its SQLite file',
      );
    } else {
      const from = path.join(config.dataDir, 'temporal');
      for (const file of (await readdir(from).catch(() => [] as string[])).filter((f) =>
        TEMPORAL_FILES.includes(f),
      )) {
        await copyFile(path.join(from, file), path.join(dir, file));
      }
    }
  }
  return counts;
}

export async function restore(dir: string, config: Config = loadConfig()): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await withDatabase(config, async (db) => {
    await migrate(db);
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM applications');
      if (Number(rows[0]!.n) > 0)
        throw new Error('the database already holds Hookline data; restore into an empty one');
      // The rows go in as they were backed up; the event counters and statuses are recomputed
      // from the deliveries afterwards (a backup from before migration 007 has no counters).
      await client.query(
        'ALTER TABLE events DISABLE TRIGGER USER; ALTER TABLE deliveries DISABLE TRIGGER USER',
      );
      for (const table of TABLES) {
        const text = await readFile(path.join(dir, `${table}.ndjson`), 'utf8');
        const lines = text.split('\n').filter(Boolean);
        // Only the columns the backup has: a backup from an older schema version gets the
        // defaults of columns added since.
        const columns = lines.length
          ? Object.keys(JSON.parse(lines[0]!) as object).map((c) => client.escapeIdentifier(c))
          : [];
        for (let i = 0; i < lines.length; i += BATCH) {
          await client.query(
            `INSERT INTO ${table} (${columns.join(', ')})
             SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`,
            [`[${lines.slice(i, i + BATCH).join(',')}]`],
          );
        }
        counts[table] = lines.length;
      }
      await client.query(
        'ALTER TABLE events ENABLE TRIGGER USER; ALTER TABLE deliveries ENABLE TRIGGER USER',
      );
      await client.query('SELECT hookline_recount_events()');
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  });
  if (!config.temporalAddress) {
    const to = path.join(config.dataDir, 'temporal');
    await mkdir(to, { recursive: true });
    for (const file of (await readdir(dir)).filter((f) => TEMPORAL_FILES.includes(f))) {
      await copyFile(path.join(dir, file), path.join(to, file));
    }
  }
  return counts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [command, dir] = [
    path.basename(process.argv[1]!, '.ts') === 'restore' ? 'restore' : process.argv[2],
    process.argv[3],
  ];
  if ((command !== 'backup' && command !== 'restore') || !dir) {
    console.error('usage: npm run backup -- <dir>   |   npm run restore -- <dir>');
    process.exit(2);
  }
  const counts = await (command === 'backup' ? backup(dir) : restore(dir));
  console.log(
    `${command} ${dir}: ${Object.entries(counts)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}`,
  );
}
