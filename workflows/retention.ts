import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { addCounts, noRows } from '../src/domain/retention.js';
import type { RetentionInput, RetentionPassResult, RetentionResult } from './contract.js';

const { purgeExpiredEvents } = proxyActivities<Activities>({
  // A pass is bounded (MAX_BATCHES short statements); its heartbeats say it is alive.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** Delete statements per activity call: a retry repeats at most this much scanning. */
const MAX_BATCHES = 200;

/**
 * Deletes expired events (older than their application's retention, final, nothing pending or
 * under way) with their deliveries, attempts and dead letters, pass after pass until none is
 * left. Started daily by the `hookline-retention` schedule; its result says what it removed.
 */
export async function retentionWorkflow(input: RetentionInput): Promise<RetentionResult> {
  let deleted = input.carried?.deleted ?? noRows();
  let passes = input.carried?.passes ?? 0;
  let resumeAt: string | null | undefined = input.carried?.resumeAt;
  do {
    const pass: RetentionPassResult = await purgeExpiredEvents({
      defaultDays: input.defaultDays,
      maxEvents: input.maxEvents ?? 500,
      maxDeliveries: input.maxDeliveries ?? 5_000,
      maxBatches: MAX_BATCHES,
      ...(resumeAt ? { resumeAt } : {}),
    });
    deleted = addCounts(deleted, pass.deleted);
    passes++;
    resumeAt = pass.resumeAt;
    if (pass.resumeAt !== null && workflowInfo().continueAsNewSuggested) {
      const carried = { deleted, passes, resumeAt: pass.resumeAt };
      await continueAsNew<typeof retentionWorkflow>({ ...input, carried });
    }
  } while (resumeAt !== null);
  return { deleted, passes };
}
