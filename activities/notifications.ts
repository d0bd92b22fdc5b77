import type { Endpoint } from '../src/db/endpoints.js';
import type { StoredEvent } from '../src/db/events.js';
import type { PluginHost } from '../src/plugins/host.js';
import type { RetryConfig } from '../src/domain/retry.js';
import type { HttpAttempt } from './http-post.js';

/** Plugin hooks of an attempt, fired (never awaited) after the attempt is recorded. */
export function notifyAttempt(
  plugins: PluginHost,
  a: {
    event: StoredEvent;
    endpoint: Endpoint;
    deliveryId: string;
    attempt: number;
    http: HttpAttempt;
    retry: RetryConfig;
  },
): void {
  const { event, endpoint, deliveryId, attempt, http, retry } = a;
  const base = {
    webhook: { endpoint: endpoint.url, event: { id: event.id, type: event.type } },
    endpoint: { id: endpoint.id, name: endpoint.name, url: endpoint.url },
    event: { id: event.id, type: event.type },
    deliveryId,
    attempts: attempt,
  };
  if (http.outcome === 'delivered') {
    plugins.emit('webhook:delivered', {
      ...base,
      statusCode: http.statusCode,
      durationMs: http.durationMs,
    });
  } else {
    plugins.emit('webhook:failed', {
      ...base,
      statusCode: http.statusCode,
      error: http.errorMessage,
      errorClass: http.errorClass,
      willRetry: http.outcome === 'retryable' && attempt < retry.maxAttempts,
    });
  }
}
