import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { stopOwnedNow } from './infra/processes.js';
import { StoppedWhileWaiting } from './infra/wait-for.js';
import { startPlatform, type Platform } from './platform.js';
import { loadOrCreateSecrets } from './secrets.js';
import { MissingBinaryError } from './temporal/binaries.js';

/**
 * The composition root of `npm start`: the dev profile (embedded PostgreSQL and Temporal unless
 * DATABASE_URL / TEMPORAL_ADDRESS are set; private networks allowed, since receivers under
 * development usually run on this machine).
 */
/** How far past HOOKLINE_SHUTDOWN_GRACE_MS a stop may run before the process exits anyway. */
const STOP_MARGIN_MS = 8_000;
const SAME_SIGNAL_MS = 500;

async function main(): Promise<void> {
  const config = loadConfig(process.env, { HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true' });
  const log = createLogger(config.logLevel);
  const secrets = await loadOrCreateSecrets(config.dataDir, {
    adminToken: config.adminToken,
    bootstrapApiKey: config.bootstrapApiKey,
  });
  // Handlers go in before anything starts: a Ctrl-C during start-up stops what has started.
  const run: { platform?: Platform; stopRequested?: string; at?: number; exitCode?: number } = {};
  /** Stops at once: the embedded children are signalled synchronously on exit (infra/processes). */
  const stopNow = (why: string, code: number) => {
    process.stderr.write(`hookline: ${why}; stopping now\n`);
    stopOwnedNow();
    process.exit(code);
  };
  const stopping = new AbortController();
  const shutdown = async (signal: string, exitCode = 0) => {
    if (run.stopRequested) return;
    run.stopRequested = signal;
    stopping.abort(); // ends a start-up wait for an external PostgreSQL or Temporal
    run.at = Date.now();
    run.exitCode = exitCode;
    // Whatever is down, the stop is bounded: the worker's grace plus a few seconds.
    setTimeout(
      () => stopNow(`not stopped within ${config.shutdownGraceMs + STOP_MARGIN_MS} ms`, 1),
      config.shutdownGraceMs + STOP_MARGIN_MS,
    ).unref();
    if (!run.platform) return; // still starting: stopped as soon as start-up returns
    process.stderr.write(`\nhookline: ${signal} received, stopping…\n`);
    await run.platform.stop();
    process.stderr.write('hookline: stopped\n');
    process.exit(run.exitCode);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm start` arrives twice at once (from the terminal and forwarded by npm):
    // only a signal a moment after the first is a second one.
    if (run.at !== undefined && Date.now() - run.at > SAME_SIGNAL_MS) stopNow(`second ${signal}`, 130);
    void shutdown(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const platform = await startPlatform({
    config: { ...config, ...secrets },
    log,
    stopping: stopping.signal,
    onFatal: (err) => {
      log.error({ err }, 'stopping: an embedded part is down for good');
      process.stderr.write(`hookline: ${err.message}\n`);
      void shutdown('fatal', 1);
    },
  });
  run.platform = platform;
  if (run.stopRequested) {
    const signal = run.stopRequested;
    run.stopRequested = undefined;
    return shutdown(signal);
  }

  const lines = [
    '',
    'Hookline is running.',
    platform.apiUrl
      ? `  API:          ${platform.apiUrl}`
      : '  API:          (not in this process: HOOKLINE_ROLE=worker)',
    platform.apiUrl ? `  Dashboard:    ${platform.apiUrl}/ (sign in with the API key)` : undefined,
    platform.metricsUrl ? `  Metrics:      ${platform.metricsUrl}` : undefined,
    `  Temporal:     ${platform.temporalAddress}${config.temporalAddress ? '' : ' (embedded dev server)'}`,
    platform.temporalUiUrl ? `  Temporal UI:  ${platform.temporalUiUrl}` : undefined,
    `  PostgreSQL:   ${config.databaseUrl ? 'DATABASE_URL' : `embedded, data in ${config.dataDir}`}`,
    `  API key:      ${secrets.bootstrapApiKey}`,
    `  Admin token:  ${secrets.adminToken}`,
    config.allowPrivateNetworks
      ? '  Delivery to loopback and private addresses is allowed (dev profile); set HOOKLINE_ALLOW_PRIVATE_NETWORKS=false to refuse it.'
      : undefined,
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.filter((l) => l !== undefined).join('\n') + '\n');
}

main().catch((err: unknown) => {
  if (err instanceof StoppedWhileWaiting) {
    process.stderr.write(`hookline: ${err.message}\n`);
    process.exit(0);
  }
  if (err instanceof ConfigError || err instanceof MissingBinaryError) {
    process.stderr.write(`hookline: ${err.message}\n`);
  } else {
    process.stderr.write(
      `hookline: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
