import { deliveryWorkflowId } from '../src/domain/ids.js';
import { endpointRef } from '../src/db/circuits.js';
import { insertDeadLetter } from '../src/db/dead-letters.js';
import { setDeliveryStatus } from '../src/db/deliveries.js';
import { getEvent } from '../src/db/events.js';
import { newId } from '../src/db/ids.js';
import type { Db } from '../src/db/pool.js';
import type { Metrics } from '../src/metrics.js';
import type { PluginHost } from '../src/plugins/host.js';
import type { DeliveryRef } from '../workflows/contract.js';

export function createDeadLetterActivities({
  db,
  metrics,
  plugins,
}: {
  db: Db;
  metrics?: Metrics | undefined;
  plugins?: PluginHost | undefined;
}) {
  return {
    /** Stores the delivery as a dead letter: attempts exhausted or a failure that is not retried. */
    async deadLetter(
      ref: DeliveryRef,
      last: { attempts: number; reason: string; statusCode: number | null; error: string | null },
    ): Promise<void> {
      const run = ref.run ?? 0;
      const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
      await insertDeadLetter(db, {
        id: newId('dl'),
        applicationId: ref.applicationId,
        deliveryId,
        eventId: ref.eventId,
        endpointId: ref.endpointId,
        run,
        attempts: last.attempts,
        reason: last.reason,
        lastStatusCode: last.statusCode,
        lastError: last.error,
      });
      await setDeliveryStatus(db, deliveryId, run, 'dead_lettered');
      metrics?.deadLettered(ref.endpointId);
      if (plugins?.has('webhook:dead_lettered')) {
        const [endpoint, event] = await Promise.all([
          endpointRef(db, ref.endpointId),
          getEvent(db, ref.eventId, ref.applicationId),
        ]);
        if (endpoint && event) {
          plugins.emit('webhook:dead_lettered', {
            webhook: { endpoint: endpoint.url, event: { id: event.id, type: event.type } },
            endpoint,
            event: { id: event.id, type: event.type },
            deliveryId,
            attempts: last.attempts,
            reason: last.reason,
          });
        }
      }
    },
  };
}
