import {
  executeChild,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { deliveryWorkflowId } from '../src/domain/ids.js';
import {
  LOCAL_ACTIVITIES_PATCH,
  fanoutQuery,
  searchAttributes,
  type EventRef,
  type FanoutResult,
} from './contract.js';
import { isIndexed } from './indexing.js';
import { deliveryWorkflow } from './delivery.js';

const options = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
} as const;
const remote = proxyActivities<Activities>(options);
const local = proxyLocalActivities<Activities>(options);

/** One per accepted event: match endpoints, one child delivery per match, report the fan-out. */
export async function eventWorkflow(ref: EventRef): Promise<FanoutResult> {
  const fanout: FanoutResult = { matched: 0, delivered: 0, failed: 0, endpoints: {} };
  setHandler(fanoutQuery, () => fanout);
  // Short database work: local activities, recorded as one marker each (see the patch's note).
  const { matchEndpoints, recordEventOutcome, claimReplayRuns } = patched(LOCAL_ACTIVITIES_PATCH)
    ? local
    : remote;

  const endpointIds = await matchEndpoints(ref);
  // Only a replay has runs to claim, so the history of a first delivery is unchanged.
  const runs = ref.replay && endpointIds.length ? await claimReplayRuns(ref, endpointIds) : {};
  fanout.matched = endpointIds.length;
  for (const id of endpointIds) fanout.endpoints[id] = 'pending';

  const inherited = workflowInfo().typedSearchAttributes;
  await Promise.all(
    endpointIds.map(async (endpointId) => {
      try {
        const result = await executeChild(deliveryWorkflow, {
          workflowId: deliveryWorkflowId(ref.eventId, endpointId),
          args: [
            {
              eventId: ref.eventId,
              applicationId: ref.applicationId,
              endpointId,
              ...(runs[endpointId] ? { run: runs[endpointId] } : {}),
            },
          ],
          ...(isIndexed()
            ? {
                typedSearchAttributes: inherited.updateCopy([
                  { key: searchAttributes.endpointId, value: endpointId },
                  { key: searchAttributes.deliveryStatus, value: 'pending' },
                ]),
              }
            : {}),
          memo: { eventId: ref.eventId, endpointId, eventType: ref.eventType },
        });
        fanout.endpoints[endpointId] = result.status;
        if (result.status === 'delivered') fanout.delivered++;
        else fanout.failed++;
      } catch {
        fanout.endpoints[endpointId] = 'failed';
        fanout.failed++;
      }
    }),
  );

  const status = fanout.matched === 0 ? 'no_match' : fanout.failed === 0 ? 'delivered' : 'partially_failed';
  await recordEventOutcome(ref.eventId, fanout.delivered === 0 && fanout.matched > 0 ? 'failed' : status);
  return fanout;
}
