// A real Temporal Server (v1.32.0, built from its Go module) on PostgreSQL, for the benchmark
// (issue #16): `npx tsx bench/real-server.ts [--shards 4] [-- command …]`.
//
// 1. Builds `server` and the schema tool `sql` with `go install …@v1.32.0` into
//    .cache/temporal-server/v1.32.0/ (or TEMPORAL_SERVER_BIN_DIR), once: a second run finds them.
// 2. Starts an embedded PostgreSQL of its own (src/infra/postgres.ts) in a fresh temp dir.
// 3. Creates the `temporal` and `temporal_visibility` databases with the schema tool
//    (setup-schema 0.0, then update-schema from the module's versioned dirs, as its Makefile does).
// 4. Writes a config (postgres12 persistence and visibility, `--shards` history shards, every
//    service on free loopback ports) and a dynamic config with the values Hookline gives its dev
//    server (src/temporal/dev-server.ts), and starts `server start` (all services, one process).
// 5. Registers the `default` namespace and Hookline's search attributes with the `temporal` CLI.
// 6. Prints TEMPORAL_ADDRESS (and the pids of the server and its PostgreSQL), then either runs
//    `command` with them in its environment and exits with its code, or waits for Ctrl-C.
// Everything it started is stopped by pid on exit or signal; the temp dir is removed.
// Needs Go (1.26.8 builds it, about 11 minutes on 2 cores) and the module proxy, for the build only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { startEmbeddedPostgres } from '../src/infra/postgres.js';
import { own, stopProcess, watchdog } from '../src/infra/processes.js';
import { requireBinary } from '../src/temporal/binaries.js';
import { waitForTemporalFrontend } from '../src/temporal/dev-server.js';
import { freePort } from '../test/helpers/ports.js';
import { searchAttributes } from '../workflows/contract.js';

const VERSION = 'v1.32.0';
const MODULE = 'go.temporal.io/server';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const dash = process.argv.indexOf('--', 2);
const { values } = parseArgs({
  args: process.argv.slice(2, dash === -1 ? undefined : dash),
  options: { shards: { type: 'string' }, namespace: { type: 'string' } },
});
const command = dash === -1 ? [] : process.argv.slice(dash + 1);
const SHARDS = Number(values.shards ?? 4);
const NAMESPACE = values.namespace ?? 'default';
const say = (line: string) => process.stderr.write(`real-server: ${line}\n`);

function run(exe: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(exe, args, { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${path.basename(exe)} ${args.join(' ')} failed: ${r.error?.message ?? ''}\n${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout;
}

/** The two binaries, built once into the cache dir. */
function binaries(): { server: string; sql: string } {
  const dir = process.env.TEMPORAL_SERVER_BIN_DIR ?? path.join(ROOT, '.cache', 'temporal-server', VERSION);
  const server = path.join(dir, 'server');
  const sql = path.join(dir, 'sql');
  for (const [bin, pkg] of [
    [server, 'cmd/server'],
    [sql, 'cmd/tools/sql'],
  ] as const) {
    if (existsSync(bin)) continue;
    say(`building ${MODULE}/${pkg}@${VERSION} into ${dir} (about 11 minutes on 2 cores)`);
    const r = spawnSync('go', ['install', `${MODULE}/${pkg}@${VERSION}`], {
      stdio: 'inherit',
      env: { ...process.env, GOBIN: dir },
    });
    if (r.status !== 0) throw new Error(`go install ${MODULE}/${pkg}@${VERSION} failed`);
  }
  return { server, sql };
}

/** The module's schema files (go install left the module in the module cache). */
function schemaDir(): string {
  const cache = run('go', ['env', 'GOMODCACHE']).trim();
  const dir = path.join(cache, `${MODULE}@${VERSION}`, 'schema', 'postgresql', 'v12');
  if (!existsSync(dir)) run('go', ['mod', 'download', `${MODULE}@${VERSION}`]);
  return dir;
}

/** The server's static config: postgres12 for history and visibility, loopback ports. */
function serverConfig(p: {
  pgPort: number;
  user: string;
  password: string;
  ports: Record<'frontend' | 'history' | 'matching' | 'worker', { grpc: number; membership: number }>;
  httpPort: number;
  dynamicConfig: string;
}): string {
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${p.pgPort}"
        connectProtocol: tcp
        user: ${p.user}
        password: ${p.password}
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const service = (name: keyof typeof p.ports) => `
  ${name}:
    rpc:
      grpcPort: ${p.ports[name].grpc}
      membershipPort: ${p.ports[name].membership}
      bindOnIP: 127.0.0.1${name === 'frontend' ? `\n      httpPort: ${p.httpPort}` : ''}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${SHARDS}
  datastores:
    postgres-default:${store('temporal', 20)}
    postgres-visibility:${store('temporal_visibility', 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:${service('frontend')}${service('history')}${service('matching')}${service('worker')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${p.ports.frontend.grpc}"
      httpAddress: "127.0.0.1:${p.httpPort}"
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled
publicClient:
  hostPort: "127.0.0.1:${p.ports.frontend.grpc}"
dynamicConfigClient:
  filepath: ${p.dynamicConfig}
  pollInterval: 10s
`;
}

/**
 * What Hookline's dev server gets (src/temporal/dev-server.ts: one task-queue partition, the
 * task-problem search attribute after 3 failures, the new matcher for priorities) and what
 * `temporal server start-dev` sets itself (8k mutable-state cache, 100 visibility RPS), so the
 * comparison is of the server, not of its settings.
 */
const DYNAMIC_CONFIG = `matching.numTaskqueueReadPartitions:
  - value: 1
matching.numTaskqueueWritePartitions:
  - value: 1
system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute:
  - value: 3
matching.useNewMatcher:
  - value: true
history.hostLevelCacheMaxSize:
  - value: 8096
frontend.namespaceRPS.visibility:
  - value: 100
`;

async function waitForFrontend(address: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  await waitForTemporalFrontend(
    address,
    () =>
      server.exitCode !== null || server.signalCode !== null
        ? `the server exited (${server.exitCode ?? server.signalCode})`
        : undefined,
    timeoutMs,
    500,
  );
}

/**
 * Waits until the frontend knows the namespace and its search attributes: a real server reads
 * namespaces through a cache refreshed every 10 s, so a worker started at once would be refused.
 */
async function waitForNamespace(address: string, timeoutMs: number): Promise<void> {
  const connection = await Connection.connect({ address });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await connection.workflowService.countWorkflowExecutions({
          namespace: NAMESPACE,
          query: `${searchAttributes.eventId.name} = "probe" AND ${searchAttributes.attempts.name} = 0`,
        });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    await connection.close();
  }
}

const stops: Array<() => Promise<void>> = [];
let stopping: Promise<void> | undefined;
/** The command run against the server, told first when we are told to stop. */
let child: ChildProcess | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`stop: ${String(err)}`));
  })();
  return stopping;
}
/** Passes the signal on to the command and waits (up to 60 s) for it to stop its own processes. */
async function childStopped(sig: NodeJS.Signals): Promise<void> {
  const c = child;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill(sig);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    say(`${sig}: stopping`);
    void childStopped(sig)
      .then(stopAll)
      .then(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const bins = binaries();
  const schema = schemaDir();
  const cli = requireBinary('cli');
  const dir = await mkdtemp(path.join(tmpdir(), 'hookline-real-temporal-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  say(`data in ${dir}`);

  // PostgreSQL for Temporal alone (Hookline's own database is another cluster).
  const pgPort = await freePort();
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: pgPort, log: say });
  stops.push(() => pg.stop());
  const { username: user, password } = new URL(pg.url);
  const pgPid = Number(readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);

  const sqlTool = (db: string, ...args: string[]) =>
    run(bins.sql, [
      '--plugin',
      'postgres12',
      '--ep',
      '127.0.0.1',
      '-p',
      String(pgPort),
      '-u',
      user,
      '--pw',
      password,
      '--db',
      db,
      ...args,
    ]);
  for (const [db, versioned] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    sqlTool(db, 'create-database');
    sqlTool(db, 'setup-schema', '-v', '0.0');
    sqlTool(db, 'update-schema', '-d', path.join(schema, versioned, 'versioned'));
  }
  say('schemas set up (temporal, temporal_visibility)');

  const port = async () => ({ grpc: await freePort(), membership: await freePort() });
  const ports = {
    frontend: await port(),
    history: await port(),
    matching: await port(),
    worker: await port(),
  };
  const dynamicConfig = path.join(dir, 'dynamicconfig.yaml');
  await writeFile(dynamicConfig, DYNAMIC_CONFIG);
  // An unknown key is only a warning to the server, which would then run without it.
  const checked = run(bins.server, ['validate-dynamic-config', dynamicConfig]);
  if (/^\s+(warning|error):/m.test(checked)) throw new Error(`dynamic config: ${checked}`);
  const config = path.join(dir, 'config.yaml');
  await writeFile(
    config,
    serverConfig({ pgPort, user, password, ports, httpPort: await freePort(), dynamicConfig }),
  );

  const logFile = await open(path.join(dir, 'server.log'), 'a');
  const server = spawn(bins.server, ['--config-file', config, '--allow-no-auth', 'start'], {
    stdio: ['ignore', logFile.fd, logFile.fd],
    detached: true,
  });
  server.once('error', () => undefined);
  if (!server.pid) throw new Error(`could not start ${bins.server}`);
  own(server, 'SIGKILL');
  const dog = watchdog(server.pid, 'SIGTERM');
  const serverPid = server.pid;
  stops.push(async () => {
    dog.dispose();
    await stopProcess(serverPid, 'SIGTERM', 10_000);
    await logFile.close();
  });
  const address = `127.0.0.1:${ports.frontend.grpc}`;
  await waitForFrontend(address, server, 120_000).catch((err: Error) => {
    const log = readFileSync(path.join(dir, 'server.log'), 'utf8');
    const shown = log.length > 6000 ? `${log.slice(0, 3000)}\n…\n${log.slice(-3000)}` : log;
    throw new Error(`${err.message}\n${shown}`, { cause: err });
  });
  say(`server ${serverPid} answers on ${address} (${SHARDS} history shards)`);

  const temporal = (...args: string[]) => run(cli, ['operator', ...args, '--address', address]);
  temporal('namespace', 'create', '--namespace', NAMESPACE, '--retention', '24h');
  for (const key of Object.values(searchAttributes)) {
    temporal(
      'search-attribute',
      'create',
      '--namespace',
      NAMESPACE,
      '--name',
      key.name,
      '--type',
      TypedSearchAttributes.toMetadataType(key.type),
    );
  }
  await waitForNamespace(address, 60_000);
  say(`namespace ${NAMESPACE} and ${Object.keys(searchAttributes).length} search attributes registered`);

  const env = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    HOOKLINE_BENCH_TEMPORAL_PID: String(serverPid),
    HOOKLINE_BENCH_TEMPORAL_POSTGRES_PID: String(pgPid),
    HOOKLINE_BENCH_TEMPORAL_POSTGRES_URL: pg.url.replace(/\/hookline$/, '/postgres'),
  };
  for (const [k, v] of Object.entries(env)) process.stdout.write(`${k}=${v}\n`);
  if (!command.length) {
    say('running; Ctrl-C stops it');
    await new Promise<never>(() => undefined);
  }
  const started = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
  child = started;
  return new Promise<number>((resolve) => {
    started.once('error', (err) => {
      say(`${command[0]}: ${err.message}`);
      resolve(127);
    });
    started.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(err instanceof Error ? (err.stack ?? err.message) : String(err));
} finally {
  await stopAll();
}
process.exit(code);
