import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startPlatform, type Platform } from './platform.js';
import { loadOrCreateSecrets } from './secrets.js';
import { MissingBinaryError } from './temporal/binaries.js';

/**
 * The composition root of `npm start`: the dev profile (embedded PostgreSQL and Temporal unless
 * DATABASE_URL / TEMPORAL_ADDRESS are set; private networks allowed, since receivers under
 * development usually run on this machine).
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env, { HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true' });
  const log = createLogger(config.logLevel);
  const secrets = await loadOrCreateSecrets(config.dataDir, {
    adminToken: config.adminToken,
    bootstrapApiKey: config.bootstrapApiKey,
  });
  // Handlers go in before anything starts: a Ctrl-C during start-up stops what has started.
  const run: { platform?: Platform; stopRequested?: string } = {};
  const shutdown = async (signal: string) => {
    if (run.stopRequested) return;
    run.stopRequested = signal;
    if (!run.platform) return; // still starting: stopped as soon as start-up returns
    process.stderr.write(`\nhookline: ${signal} received, stopping…\n`);
    await run.platform.stop();
    process.stderr.write('hookline: stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const platform = await startPlatform({ config: { ...config, ...secrets }, log });
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
  if (err instanceof ConfigError || err instanceof MissingBinaryError) {
    process.stderr.write(`hookline: ${err.message}\n`);
  } else {
    process.stderr.write(
      `hookline: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
