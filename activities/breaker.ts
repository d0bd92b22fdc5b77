import type { Client } from '@temporalio/client';
import type { CircuitConfig } from '../src/domain/circuit.js';
import { endpointWorkflowId } from '../src/domain/ids.js';
import { endpointRef, publishCircuit, type CircuitMirror } from '../src/db/circuits.js';
import type { Db } from '../src/db/pool.js';
import type { PluginHost } from '../src/plugins/host.js';
import {
  breakerOutcomeSignal,
  workflowTypes,
  type BreakerOutcome,
  type EndpointWorkflow,
  type EndpointWorkflowInput,
} from '../workflows/contract.js';
import type { HttpAttempt } from './http-post.js';

/** A breaker that has seen failures (or is not closed) hears about every outcome; a clean one, only failures. */
export function breakerNeedsToHear(
  outcome: HttpAttempt['outcome'],
  mirror: CircuitMirror | undefined,
  probe: boolean,
): boolean {
  if (probe || outcome === 'retryable') return true;
  return mirror !== undefined && (mirror.state !== 'closed' || mirror.consecutiveFailures > 0);
}

/**
 * Reports an attempt's outcome to the endpoint's breaker workflow, starting it if needed
 * (signal-with-start is a client call, so it is made from an activity, not a workflow).
 */
export async function tellBreaker(
  temporal: Client,
  taskQueue: string,
  endpointId: string,
  config: CircuitConfig,
  outcome: BreakerOutcome,
): Promise<void> {
  const input: EndpointWorkflowInput = { endpointId, config };
  await temporal.workflow.signalWithStart<EndpointWorkflow, [BreakerOutcome]>(workflowTypes.endpoint, {
    workflowId: endpointWorkflowId(endpointId),
    taskQueue,
    args: [input],
    signal: breakerOutcomeSignal,
    signalArgs: [outcome],
  });
}

/** The breaker workflow's own activity: its state mirrored to PostgreSQL, and the plugin hooks. */
export function createBreakerActivities({ db, plugins }: { db: Db; plugins?: PluginHost | undefined }) {
  return {
    /** The breaker workflow's mirror of its state, read by deliveries to skip it when healthy. */
    async publishCircuitState(
      mirror: Omit<CircuitMirror, 'openUntil'> & { openUntil: number | null },
    ): Promise<void> {
      const written = await publishCircuit(db, {
        ...mirror,
        openUntil: mirror.openUntil === null ? null : new Date(mirror.openUntil),
      });
      if (!written || !plugins) return;
      const wasClosed = written.previous === null || written.previous === 'closed';
      if (wasClosed === (mirror.state === 'closed')) return; // no opening or closing
      if (!plugins.has(mirror.state === 'closed' ? 'endpoint:circuit_closed' : 'endpoint:circuit_opened'))
        return;
      const endpoint = await endpointRef(db, mirror.endpointId);
      if (!endpoint) return;
      if (mirror.state === 'closed') plugins.emit('endpoint:circuit_closed', { endpoint });
      else
        plugins.emit('endpoint:circuit_opened', {
          endpoint,
          consecutiveFailures: mirror.consecutiveFailures,
        });
    },
  };
}
