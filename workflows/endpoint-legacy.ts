import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  breakerOutcomeSignal,
  breakerRetireSignal,
  breakerStateQuery,
  breakerUpgradeSignal,
  circuitPermitSignal,
  circuitWaitSignal,
  searchAttributes,
  type BreakerState,
  type CircuitPermit,
  type EndpointWorkflow,
  type EndpointWorkflowInput,
} from './contract.js';
import { upsertIfIndexed } from './indexing.js';

const { publishCircuitState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** How long a probe may take before another waiting delivery gets the probe. */
const PROBE_LEASE_MS = 2 * 60_000;
const RECENT_KEYS = 500;
const RELEASE_BATCH = 100;
/** Continue-as-new well before Temporal's 4,096-event suggestion, so each run replays quickly. */
const MAX_HISTORY = 2000;

/** The state of a breaker from before the waiter table: its waiters in it. */
type LegacyState = BreakerState & { waiters: string[] };

const initialState = (): LegacyState => ({
  state: 'closed',
  consecutiveFailures: 0,
  openUntil: null,
  probe: null,
  waiters: [],
  recentKeys: [],
  seq: 0,
  outcomes: 0,
  opened: 0,
});

/**
 * The breaker as it ran before the waiter table (`BREAKER_WAITER_TABLE_PATCH` false): its waiters
 * in its state, released by signals from the workflow. Kept so that histories recorded before the
 * patch replay, and so that a running old breaker finishes its run; an `upgrade` signal makes it
 * continue as new at once, and its next run moves the waiters it carries to the table.
 */
export async function legacyEndpointWorkflow(input: EndpointWorkflowInput): Promise<void> {
  const { endpointId, config } = input;
  const s = (input.carried ?? initialState()) as LegacyState;
  let published = input.carried ? s.seq : -1;
  const toRelease: Array<{ workflowId: string; permit: CircuitPermit }> = [];

  const change = () => void s.seq++;
  const open = () => {
    s.state = 'open';
    s.openUntil = Date.now() + config.cooldown;
    s.probe = null;
    s.opened++;
    change();
  };
  const close = () => {
    s.state = 'closed';
    s.consecutiveFailures = 0;
    s.openUntil = null;
    s.probe = null;
    for (const workflowId of s.waiters.splice(0)) toRelease.push({ workflowId, permit: 'go' });
    change();
  };

  setHandler(breakerStateQuery, () => ({ ...s, endpointId, config }));

  setHandler(breakerOutcomeSignal, (o) => {
    if (s.recentKeys.includes(o.key)) return;
    s.recentKeys.push(o.key);
    if (s.recentKeys.length > RECENT_KEYS) s.recentKeys.shift();
    s.outcomes++;
    if (o.ok) {
      // Any sane answer shows the endpoint is up: reset, and close if it was not closed.
      if (s.state !== 'closed') close();
      else if (s.consecutiveFailures > 0) {
        s.consecutiveFailures = 0;
        change();
      }
      return;
    }
    s.consecutiveFailures++;
    if (s.state === 'half_open' && o.probe) open();
    else if (s.state === 'closed' && s.consecutiveFailures >= config.threshold) open();
    else change();
  });

  let retired = false;
  setHandler(breakerRetireSignal, () => {
    retired = true;
    // Waiters go ahead as probes: their next attempt sees the deleted or disabled endpoint and
    // ends as a dead letter (replayable once the endpoint is enabled again).
    for (const workflowId of s.waiters.splice(0)) toRelease.push({ workflowId, permit: 'probe' });
    close();
  });

  // New: no recorded history has it, so it needs no patch.
  let upgrade = false;
  setHandler(breakerUpgradeSignal, () => void (upgrade = true));

  setHandler(circuitWaitSignal, ({ workflowId }) => {
    if (s.state === 'closed') toRelease.push({ workflowId, permit: 'go' });
    else if (!s.waiters.includes(workflowId) && s.probe?.workflowId !== workflowId)
      s.waiters.push(workflowId);
  });

  for (;;) {
    const now = Date.now();
    if (s.state === 'open' && s.openUntil !== null && now >= s.openUntil) {
      s.state = 'half_open';
      change();
    }
    if (s.state === 'half_open' && (!s.probe || now >= s.probe.until) && s.waiters.length > 0) {
      const workflowId = s.waiters.shift()!;
      s.probe = { workflowId, until: now + PROBE_LEASE_MS };
      toRelease.push({ workflowId, permit: 'probe' });
      change();
    }
    // The mirror first, so released deliveries read the state they were released for.
    if (published !== s.seq) {
      published = s.seq;
      await publishCircuitState({
        endpointId,
        state: s.state,
        consecutiveFailures: s.consecutiveFailures,
        openUntil: s.openUntil,
        seq: s.seq,
      });
      upsertIfIndexed([{ key: searchAttributes.circuitState, value: s.state }]);
    }
    while (toRelease.length > 0) {
      await Promise.all(
        toRelease.splice(0, RELEASE_BATCH).map(({ workflowId, permit }) =>
          // A delivery that has ended in the meantime cannot be signalled; nothing is lost.
          getExternalWorkflowHandle(workflowId)
            .signal(circuitPermitSignal, permit)
            .catch(() => undefined),
        ),
      );
    }

    if (retired) {
      await condition(allHandlersFinished);
      return;
    }

    const info = workflowInfo();
    if (upgrade || info.continueAsNewSuggested || info.historyLength > MAX_HISTORY) {
      await condition(allHandlersFinished);
      await continueAsNew<EndpointWorkflow>({ endpointId, config, carried: s });
    }

    const deadline =
      s.state === 'open'
        ? s.openUntil
        : s.state === 'half_open' && s.probe && s.waiters.length
          ? s.probe.until
          : null;
    const seen = s.seq;
    const woken = () =>
      retired ||
      upgrade ||
      s.seq !== seen ||
      toRelease.length > 0 ||
      (s.state === 'half_open' && !s.probe && s.waiters.length > 0);
    if (deadline === null) await condition(woken);
    else await condition(woken, Math.max(1, deadline - Date.now()));
  }
}
