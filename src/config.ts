import { z } from 'zod';
import type { BuiltInPluginSettings } from './plugins/api.js';
import { readTemporalSecurity, type TemporalSecurity } from './temporal/connection.js';

/** Configuration, parsed once at start from the environment. Every bad key is reported at once. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  temporalAddress: string | undefined;
  temporalNamespace: string;
  /** TLS, mTLS or a Temporal Cloud API key for TEMPORAL_ADDRESS (files read and checked at start). */
  temporalSecurity: TemporalSecurity;
  temporalTaskQueue: string;
  temporalPort: number;
  temporalUiPort: number;
  postgresPort: number;
  adminToken: string | undefined;
  bootstrapApiKey: string | undefined;
  allowPrivateNetworks: boolean;
  role: 'api' | 'worker' | 'all';
  /** Worker slots: workflow tasks and activities (deliveries) run at once in one worker process. */
  workflowTaskSlots: number;
  activitySlots: number;
  /** How long a stopping worker lets running deliveries finish before cancelling them. */
  shutdownGraceMs: number;
  /** Label metrics by endpoint id; off for deployments with very many endpoints. */
  metricsPerEndpoint: boolean;
  /** Where a worker-only process serves /metrics. */
  metricsPort: number;
  /** When set, /metrics (API and worker) needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Requests a second per API key (0: no limit); bursts of twice that. */
  rateLimit: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Plugin modules, in order: `email`, `operational-webhook`, a path or a package name. */
  plugins: string[];
  /** Committed events without a workflow beyond which ingest answers 503 (0: no cap). */
  maxBacklog: number;
  /** `endpoint:down` fires once a circuit has not been closed for this long. */
  endpointDownAfterMs: number;
  /** How often the worker that holds the reconciler lock looks for terminated delivery runs. */
  reconcileIntervalMs: number;
  /**
   * Events (with their deliveries, attempts and dead letters) older than this many days are
   * deleted by the daily retention workflow; an application may set its own. The embedded dev
   * server keeps closed workflows as long.
   */
  retentionDays: number;
  /** The built-in plugins' settings (validated here; the plugins read them, not the environment). */
  pluginSettings: BuiltInPluginSettings;
  /** The environment the config was read from: other plugins read their own settings in it. */
  env: Readonly<Record<string, string | undefined>>;
}

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const schema = z.object({
  PORT: port(3000),
  HOOKLINE_HOST: z.string().default('127.0.0.1'),
  HOOKLINE_DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  TEMPORAL_ADDRESS: optionalString.pipe(
    z
      .string()
      .regex(/^[^\s:/]+:\d+$/, 'must be host:port')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  // Checked together (files read, combinations) by readTemporalSecurity below.
  TEMPORAL_TLS: optionalString,
  TEMPORAL_TLS_CERT: optionalString,
  TEMPORAL_TLS_KEY: optionalString,
  TEMPORAL_TLS_CA: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_API_KEY: optionalString,
  HOOKLINE_TASK_QUEUE: z.string().min(1).default('hookline'),
  HOOKLINE_TEMPORAL_PORT: port(7233),
  HOOKLINE_TEMPORAL_UI_PORT: port(8233),
  HOOKLINE_POSTGRES_PORT: port(5433),
  HOOKLINE_ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  HOOKLINE_BOOTSTRAP_API_KEY: optionalString.pipe(
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  HOOKLINE_ALLOW_PRIVATE_NETWORKS: bool(false),
  HOOKLINE_ROLE: z.enum(['api', 'worker', 'all']).default('all'),
  HOOKLINE_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(1).max(1000).default(40),
  HOOKLINE_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(5000).default(100),
  HOOKLINE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  HOOKLINE_METRICS_PER_ENDPOINT: bool(true),
  HOOKLINE_METRICS_PORT: port(9464),
  HOOKLINE_METRICS_TOKEN: optionalString.pipe(
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  HOOKLINE_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(100),
  HOOKLINE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  HOOKLINE_PLUGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  HOOKLINE_MAX_BACKLOG: z.coerce.number().int().min(0).max(100_000_000).default(100_000),
  HOOKLINE_ENDPOINT_DOWN_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(7 * 86_400_000)
    .default(300_000),
  HOOKLINE_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  HOOKLINE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  // Settings of the built-in plugins (read by them; listed here so they are known and documented).
  HOOKLINE_ALERT_SMTP_URL: optionalString.pipe(
    z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
  ),
  HOOKLINE_ALERT_EMAIL_TO: optionalString,
  HOOKLINE_ALERT_EMAIL_FROM: optionalString,
  HOOKLINE_ALERT_THRESHOLD: z.coerce.number().int().min(1).max(50).default(3),
  HOOKLINE_OPS_WEBHOOK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  HOOKLINE_OPS_WEBHOOK_SECRET: optionalString,
});

/** The variables Hookline reads (for checks of deployment files). */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * `defaults` are the profile's defaults (e.g. `npm start` allows private networks); the
 * environment always wins over them.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  defaults: Partial<Record<keyof z.input<typeof schema>, string>> = {},
): Config {
  const merged: Record<string, string | undefined> = { ...defaults };
  for (const key of Object.keys(schema.shape)) {
    if (env[key] !== undefined) merged[key] = env[key];
  }
  const parsed = schema.safeParse(merged);
  // The Temporal connection's problems are listed with the others, whatever else is wrong.
  const temporal = readTemporalSecurity(merged);
  if (!parsed.success) {
    throw new ConfigError([
      ...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      ...temporal.problems,
    ]);
  }
  const c = parsed.data;
  const missing = [
    ...(c.HOOKLINE_PLUGINS.includes('email')
      ? (['HOOKLINE_ALERT_SMTP_URL', 'HOOKLINE_ALERT_EMAIL_TO'] as const)
      : []),
    ...(c.HOOKLINE_PLUGINS.includes('operational-webhook')
      ? (['HOOKLINE_OPS_WEBHOOK_URL', 'HOOKLINE_OPS_WEBHOOK_SECRET'] as const)
      : []),
  ].filter((key) => !c[key]);
  const problems = [
    ...missing.map((key) => `${key}: required by a plugin in HOOKLINE_PLUGINS`),
    ...temporal.problems,
  ];
  if (problems.length) throw new ConfigError(problems);
  return {
    port: c.PORT,
    host: c.HOOKLINE_HOST,
    dataDir: c.HOOKLINE_DATA_DIR,
    databaseUrl: c.DATABASE_URL,
    temporalAddress: c.TEMPORAL_ADDRESS,
    temporalNamespace: c.TEMPORAL_NAMESPACE,
    temporalSecurity: temporal.security,
    temporalTaskQueue: c.HOOKLINE_TASK_QUEUE,
    temporalPort: c.HOOKLINE_TEMPORAL_PORT,
    temporalUiPort: c.HOOKLINE_TEMPORAL_UI_PORT,
    postgresPort: c.HOOKLINE_POSTGRES_PORT,
    adminToken: c.HOOKLINE_ADMIN_TOKEN,
    bootstrapApiKey: c.HOOKLINE_BOOTSTRAP_API_KEY,
    allowPrivateNetworks: c.HOOKLINE_ALLOW_PRIVATE_NETWORKS,
    role: c.HOOKLINE_ROLE,
    rateLimit: c.HOOKLINE_RATE_LIMIT,
    metricsPerEndpoint: c.HOOKLINE_METRICS_PER_ENDPOINT,
    shutdownGraceMs: c.HOOKLINE_SHUTDOWN_GRACE_MS,
    metricsPort: c.HOOKLINE_METRICS_PORT,
    metricsToken: c.HOOKLINE_METRICS_TOKEN,
    workflowTaskSlots: c.HOOKLINE_WORKFLOW_TASK_SLOTS,
    activitySlots: c.HOOKLINE_ACTIVITY_SLOTS,
    logLevel: c.HOOKLINE_LOG_LEVEL,
    plugins: c.HOOKLINE_PLUGINS,
    endpointDownAfterMs: c.HOOKLINE_ENDPOINT_DOWN_AFTER_MS,
    reconcileIntervalMs: c.HOOKLINE_RECONCILE_INTERVAL_MS,
    maxBacklog: c.HOOKLINE_MAX_BACKLOG,
    retentionDays: c.HOOKLINE_RETENTION_DAYS,
    pluginSettings: {
      alertSmtpUrl: c.HOOKLINE_ALERT_SMTP_URL,
      alertEmailTo: c.HOOKLINE_ALERT_EMAIL_TO,
      alertEmailFrom: c.HOOKLINE_ALERT_EMAIL_FROM,
      alertThreshold: c.HOOKLINE_ALERT_THRESHOLD,
      opsWebhookUrl: c.HOOKLINE_OPS_WEBHOOK_URL,
      opsWebhookSecret: c.HOOKLINE_OPS_WEBHOOK_SECRET,
    },
    env: { ...env, ...merged },
  };
}
