import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { createDeliveryAgent } from '../activities/network.js';
import { createApp } from './api/app.js';
import type { Config } from './config.js';
import { ensureDefaultApplication } from './db/applications.js';
import { migrate } from './db/migrate.js';
import { createPool, type Db } from './db/pool.js';
import { startEmbeddedPostgres } from './infra/postgres.js';
import { createIngest } from './ingest/accept.js';
import { watchBacklog } from './ingest/backlog.js';
import { createDispatcher } from './ingest/dispatcher.js';
import { metricsAuthorized } from './api/auth.js';
import { embeddedRestarts, supervise } from './infra/supervisor.js';
import { waitFor } from './infra/wait-for.js';
import { ping } from './db/stats.js';
import { createMetrics } from './metrics.js';
import { watchDownEndpoints } from './plugins/down-watch.js';
import { loadPlugins } from './plugins/host.js';
import { connectClient } from './temporal/client.js';
import { temporalConnectionOptions, withTlsExplanation } from './temporal/connection.js';
import { startReconciler } from './reconcile/closed-runs.js';
import { startDevServer } from './temporal/dev-server.js';
import { eagerCapable } from './temporal/starts.js';
import { ensureRetentionSchedule } from './temporal/retention-schedule.js';
import { createWorker, installRuntime } from './temporal/worker.js';

export interface PlatformOptions {
  config: Config;
  log: Logger;
  /** Prebuilt workflow bundle (tests); otherwise bundled at start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** An embedded part died and could not be restarted (`npm start` exits non-zero). */
  onFatal?: (err: Error) => void;
  /** Aborted when the process is asked to stop (ends a wait for an external dependency). */
  stopping?: AbortSignal;
}

/**
 * No stop step may hold up shutdown for longer than STOP_STEP_MS (the worker's drain has its
 * grace), and the whole stop ends within the grace plus STOP_TAIL_MS whatever is down: a step
 * cut short leaves its part to the exit handler and watchdogs (src/infra/processes.ts).
 */
const STOP_STEP_MS = 5_000;
const STOP_TAIL_MS = 4_000;
const within = (ms: number, work: Promise<void>) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });

const listen = (server: Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });

/** How long the API keeps an idle connection open (see where it is set). */
export const API_KEEP_ALIVE_MS = 65_000;

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

export interface Platform {
  apiUrl: string | undefined;
  metricsUrl: string | undefined;
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  databaseUrl: string;
  db: Db;
  temporal: Client;
  stop(): Promise<void>;
}

/**
 * Starts what the config asks for, in dependency order: PostgreSQL (embedded unless DATABASE_URL),
 * Temporal (dev server unless TEMPORAL_ADDRESS), migrations, then the worker and/or the API.
 * `stop()` stops them in reverse order; a failed start stops what had started.
 */
export async function startPlatform({
  config,
  log,
  workflowBundle,
  onFatal = (err) => log.error({ err }, 'an embedded part is down for good'),
  stopping,
}: PlatformOptions): Promise<Platform> {
  const stops: Array<{ name: string; stop: () => Promise<void>; withinMs?: number }> = [];
  const stop = async () => {
    const deadline = Date.now() + config.shutdownGraceMs + STOP_TAIL_MS;
    for (const part of stops.reverse().splice(0)) {
      try {
        const budget = Math.min(part.withinMs ?? STOP_STEP_MS, Math.max(500, deadline - Date.now()));
        await within(budget, part.stop());
        log.debug({ part: part.name }, 'stopped');
      } catch (err) {
        log.warn({ err, part: part.name }, 'stop failed');
      }
    }
  };

  try {
    const restarts = embeddedRestarts();
    const supervision = (part: string) => ({
      part,
      log,
      onRestart: () => restarts.inc({ part }),
      onGiveUp: onFatal,
    });
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pg = await supervise(
        () =>
          startEmbeddedPostgres({
            dataDir: config.dataDir,
            port: config.postgresPort,
            log: (line) => log.warn(line),
          }),
        supervision('postgres'),
      );
      stops.push({ name: 'postgres', stop: pg.stop });
      databaseUrl = pg.first.url;
    }

    let temporalAddress = config.temporalAddress;
    let temporalUiUrl: string | undefined;
    if (!temporalAddress) {
      const dev = await supervise(
        () =>
          startDevServer({
            dataDir: path.join(config.dataDir, 'temporal'),
            port: config.temporalPort,
            uiPort: config.temporalUiPort,
            namespace: config.temporalNamespace,
            retentionDays: config.retentionDays,
            log: (line) => log.warn(line),
          }),
        supervision('temporal'),
      );
      stops.push({ name: 'temporal dev server', stop: dev.stop });
      temporalAddress = dev.first.address;
      temporalUiUrl = dev.first.uiUrl;
    }

    const db = createPool(databaseUrl);
    // An external PostgreSQL that is down now is waited for (the embedded one has just answered).
    if (config.databaseUrl)
      await waitFor('PostgreSQL (DATABASE_URL)', () => ping(db), { log, signal: stopping });
    // Idle connections close at once; one held by a frozen server is not waited for.
    stops.push({ name: 'database pool', stop: () => db.end(), withinMs: 1_000 });
    // Migrations may run long: their own connection, without the pool's query timeout.
    const migrations = createPool(databaseUrl, 1, { queryTimeoutMs: 0 });
    const applied = await migrate(migrations).finally(() => migrations.end());
    if (applied.length) log.info({ versions: applied }, 'database migrations applied');

    // A process that runs the worker builds its client on the worker's native connection, so the
    // API's starts can be eager (the first workflow task comes back in the start's answer).
    if (config.role !== 'api') installRuntime(log);
    const address = temporalAddress;
    // Waited for when external; the warning while waiting says what a TLS failure means.
    const connect = <T>(fn: () => Promise<T>) =>
      config.temporalAddress
        ? waitFor(
            'Temporal (TEMPORAL_ADDRESS)',
            () =>
              fn().catch((err: unknown) => Promise.reject(withTlsExplanation(err, config.temporalSecurity))),
            {
              log,
              signal: stopping,
            },
          )
        : fn();
    const native =
      config.role !== 'api'
        ? await connect(() =>
            NativeConnection.connect(
              temporalConnectionOptions(config.temporalSecurity, address, config.temporalNamespace),
            ),
          )
        : undefined;
    if (native) stops.push({ name: 'temporal connection', stop: () => native.close() });
    const temporal = native
      ? eagerCapable(new Client({ connection: native, namespace: config.temporalNamespace }))
      : await connect(() => connectClient(address, config.temporalNamespace, config.temporalSecurity));
    if (!native) stops.push({ name: 'temporal client', stop: () => temporal.connection.close() });

    const metrics = createMetrics({ perEndpoint: config.metricsPerEndpoint });
    metrics.registry.registerMetric(restarts);
    const plugins = await loadPlugins(
      config.plugins,
      { env: config.env, settings: config.pluginSettings, log: log.child({ component: 'plugin' }) },
      metrics.pluginFailed,
    );
    stops.push({ name: 'plugins', stop: () => plugins.cleanup() });
    metrics.observeBacklog({
      db,
      temporal,
      namespace: config.temporalNamespace,
      taskQueue: config.temporalTaskQueue,
    });
    const backlog = watchBacklog(db);
    stops.push({ name: 'backlog watch', stop: async () => backlog.stop() });
    metrics.observeDispatchBacklog(backlog);
    // Every process starts the workflows of the events it accepts; worker processes also sweep
    // for committed events that have none (after a crash, an outage or a failed start).
    const dispatcher = createDispatcher({
      db,
      temporal,
      taskQueue: config.temporalTaskQueue,
      metrics,
      log: log.child({ component: 'dispatcher' }),
    });
    stops.push({ name: 'dispatcher', stop: () => dispatcher.stop() });

    if (config.role !== 'api') {
      const httpAgent = createDeliveryAgent(config.allowPrivateNetworks);
      // Stopped after the worker: a request still open is an attempt Temporal will run again.
      stops.push({ name: 'http agent', stop: () => httpAgent.destroy() });
      const worker = await createWorker({
        connection: native!,
        namespace: config.temporalNamespace,
        taskQueue: config.temporalTaskQueue,
        workflowTaskSlots: config.workflowTaskSlots,
        activitySlots: config.activitySlots,
        shutdownGraceMs: config.shutdownGraceMs,
        activities: createActivities({
          db,
          dispatcher: httpAgent,
          allowPrivateNetworks: config.allowPrivateNetworks,
          temporal,
          taskQueue: config.temporalTaskQueue,
          metrics,
          log: log.child({ component: 'activity' }),
          plugins,
        }),
        ...(workflowBundle ? { workflowBundle } : {}),
      });
      const running = worker.run();
      dispatcher.startSweeping();
      running.catch((err: unknown) => log.error({ err }, 'worker stopped with an error'));
      // Retention runs daily on a Temporal Schedule that every worker creates or brings up to date.
      await ensureRetentionSchedule(temporal, {
        taskQueue: config.temporalTaskQueue,
        defaultDays: config.retentionDays,
      }).then(
        (outcome) => log.debug({ outcome }, 'retention schedule'),
        (err: unknown) =>
          log.error({ err }, 'the retention schedule could not be made: expired events stay until it is'),
      );
      if (plugins.has('endpoint:down')) {
        const stopWatch = watchDownEndpoints(db, plugins, config.endpointDownAfterMs, log);
        stops.push({ name: 'endpoint-down watch', stop: async () => stopWatch() });
      }
      stops.push({
        name: 'worker',
        withinMs: config.shutdownGraceMs + 1_500,
        stop: async () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running.catch(() => {});
        },
      });
      // Terminations run no workflow code: one worker process (under an advisory lock) records them.
      const reconciler = startReconciler({
        db,
        temporal,
        taskQueue: config.temporalTaskQueue,
        intervalMs: config.reconcileIntervalMs,
        metrics,
        plugins,
        log: log.child({ component: 'reconciler' }),
      });
      stops.push({ name: 'reconciler', stop: () => reconciler.stop() });
    }

    let apiUrl: string | undefined;
    if (config.role !== 'worker') {
      if (config.bootstrapApiKey) await ensureDefaultApplication(db, config.bootstrapApiKey);
      const app = createApp({
        db,
        temporal,
        taskQueue: config.temporalTaskQueue,
        adminToken: config.adminToken,
        namespace: config.temporalNamespace,
        temporalUiUrl,
        // The embedded dev server keeps closed workflows this long (set at its start).
        ...(temporalUiUrl ? { temporalRetentionMs: config.retentionDays * 86_400_000 } : {}),
        rateLimit: config.rateLimit,
        metrics,
        ingest: createIngest({ db, dispatcher, backlog, maxBacklog: config.maxBacklog, metrics, plugins }),
        metricsToken: config.metricsToken,
        log: log.child({ component: 'api' }),
      });
      const server: Server = createServer(app);
      // An idle keep-alive connection outlives a load balancer's idle timeout (60 s on the common
      // ones; Node's default is 5 s), so the client side closes it first and never sends a request
      // on a socket Hookline is closing (a reset, a 502 at the balancer).
      server.keepAliveTimeout = API_KEEP_ALIVE_MS;
      server.headersTimeout = API_KEEP_ALIVE_MS + 1_000;
      await listen(server, config.port, config.host);
      stops.push({ name: 'api', stop: () => closeServer(server) });
      const { port } = server.address() as AddressInfo;
      apiUrl = `http://${config.host}:${port}`;
    }

    let metricsUrl: string | undefined;
    if (config.role === 'worker') {
      // A worker-only process serves its own /metrics for Prometheus.
      const server = createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        if (!metricsAuthorized(config.metricsToken, req.headers.authorization))
          return void res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
        void metrics.registry.metrics().then((body) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body);
        });
      });
      await listen(server, config.metricsPort, config.host);
      stops.push({ name: 'metrics server', stop: () => closeServer(server) });
      metricsUrl = `http://${config.host}:${(server.address() as AddressInfo).port}/metrics`;
    }

    return { apiUrl, metricsUrl, temporalAddress, temporalUiUrl, databaseUrl, db, temporal, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
