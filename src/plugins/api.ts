// The plugin API: what a plugin module sees (hooks, their contexts, ingest middleware).
import type { Logger } from 'pino';

/** The notifications a plugin can hook; they fire in the worker, outside workflow code. */
export const HOOKS = [
  'webhook:delivered',
  'webhook:failed',
  'webhook:dead_lettered',
  'endpoint:circuit_opened',
  'endpoint:circuit_closed',
  'endpoint:down',
] as const;
export type HookName = (typeof HOOKS)[number];

export interface EndpointRef {
  id: string;
  name: string;
  url: string;
}

interface DeliveryContext {
  /** The guide's shape: `webhook.endpoint` is the URL, `webhook.event` the event. */
  webhook: { endpoint: string; event: { id: string; type: string } };
  endpoint: EndpointRef;
  event: { id: string; type: string };
  deliveryId: string;
  /** Attempts made so far in this run (the failed or delivered one included). */
  attempts: number;
}

export interface HookContexts {
  'webhook:delivered': DeliveryContext & { statusCode: number | null; durationMs: number };
  'webhook:failed': DeliveryContext & {
    statusCode: number | null;
    error: string | null;
    errorClass: string | null;
    /** False when this failure ends the delivery (not retryable, or the last attempt). */
    willRetry: boolean;
  };
  'webhook:dead_lettered': DeliveryContext & {
    reason: string;
    /** `failed`: its attempts failed; `terminated`/`cancelled`: an operator stopped its workflow. */
    kind: 'failed' | 'terminated' | 'cancelled';
    /** Who terminated or cancelled it (the Temporal identity), else null. */
    stoppedBy: string | null;
  };
  'endpoint:circuit_opened': { endpoint: EndpointRef; consecutiveFailures: number };
  'endpoint:circuit_closed': { endpoint: EndpointRef };
  /** The circuit has not been closed for `downTime` minutes (`HOOKLINE_ENDPOINT_DOWN_AFTER_MS`). */
  'endpoint:down': { endpoint: EndpointRef; downSince: string; downTime: number };
}

/** An event as ingest middleware sees it (and may return changed). */
export interface IngestEvent {
  type: string;
  source?: string | undefined;
  payload: unknown;
  options?: Record<string, unknown> | undefined;
}

/** Thrown (or returned as `{ reject }`) by ingest middleware to refuse an event: the API answers 422. */
export class IngestRejected extends Error {
  constructor(
    readonly plugin: string,
    reason: string,
  ) {
    super(reason);
  }
}

export interface HooklinePlugin {
  name: string;
  version?: string;
  hooks?: { [H in HookName]?: (context: HookContexts[H]) => unknown };
  /** Runs in the API before an event is stored: return it (changed or not), or `{ reject: reason }`. */
  ingest?: (
    event: IngestEvent,
  ) => IngestEvent | { reject: string } | void | Promise<IngestEvent | { reject: string } | void>;
  initialize?: () => unknown;
  cleanup?: () => unknown;
}

/** The built-in plugins' settings, as the config validated them at start. */
export interface BuiltInPluginSettings {
  alertSmtpUrl?: string | undefined;
  alertEmailTo?: string | undefined;
  alertEmailFrom?: string | undefined;
  alertThreshold?: number | undefined;
  opsWebhookUrl?: string | undefined;
  opsWebhookSecret?: string | undefined;
}

export interface PluginContext {
  /** The environment Hookline's config was read from (other plugins read their settings in it). */
  env: Readonly<Record<string, string | undefined>>;
  /** The built-in plugins' settings, validated once by the config (they never re-read `env`). */
  settings?: BuiltInPluginSettings;
  log: Logger;
}

/** A plugin module's default export: the plugin, or a factory that makes it. */
export type PluginModule =
  HooklinePlugin | ((ctx: PluginContext) => HooklinePlugin | Promise<HooklinePlugin>);
