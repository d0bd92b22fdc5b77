import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  BREAKER_WAITER_TABLE_PATCH,
  breakerOutcomeSignal,
  breakerRetireSignal,
  breakerStateQuery,
  breakerUpgradeSignal,
  circuitWaitSignal,
  searchAttributes,
  type BreakerState,
  type CircuitPermit,
  type EndpointWorkflow,
  type EndpointWorkflowInput,
} from './contract.js';
import { legacyEndpointWorkflow } from './endpoint-legacy.js';
import { upsertIfIndexed } from './indexing.js';

const { publishCircuitState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
// Releasing 50,000 waiters takes minutes (the engine's signal rate); the heartbeat shows it is alive.
const { releaseWaiters } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const { offerProbe, adoptWaiters } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** How long a probe may take before another waiting delivery gets the probe. */
const PROBE_LEASE_MS = 2 * 60_000;
const RECENT_KEYS = 500;
/** Continue-as-new well before Temporal's 4,096-event suggestion, so each run replays quickly. */
const MAX_HISTORY = 2000;

/**
 * The circuit breaker of one endpoint, and the only writer of its state:
 * closed → open after `threshold` consecutive failures → half-open after `cooldown` → one probe
 * at a time; the probe's success closes it, its failure reopens it. Deliveries that find it open
 * wait in PostgreSQL (`circuit_waiters`, written by their attempt), not in this workflow: on
 * half-open the oldest gets `probe` (`offerProbe`), on close all get `go` (`releaseWaiters`, an
 * activity signalling from the client in pages). So the state and the continue-as-new input stay
 * O(1) however many deliveries wait, and the workflow sends no signal itself.
 * A clean, closed breaker hears nothing (deliveries read its PostgreSQL mirror), so a busy healthy
 * endpoint is never serialised through this workflow.
 */
export async function endpointWorkflow(input: EndpointWorkflowInput): Promise<void> {
  if (!patched(BREAKER_WAITER_TABLE_PATCH)) return legacyEndpointWorkflow(input);

  const { endpointId, config } = input;
  const { waiters: carriedWaiters = [], ...carried } = input.carried ?? initialState();
  const s: BreakerState = { ...carried, waiterTable: true };
  // Waiters to move into the table: an old-shape run's, and old deliveries' `wait` signals.
  const adopt: string[] = [...carriedWaiters];
  // Each run publishes once: the last run may have continued as new before publishing its last
  // change (a write of a seq already there is ignored). An old-shape run's seq was published
  // without `waiter_table`, so the mirror gets a new one.
  let published = -1;
  if (input.carried && !input.carried.waiterTable) s.seq++;
  let release: CircuitPermit | null = null;
  // Offer the probe once on entering half-open (or a new run in it), then only when nudged.
  let nudged = s.state === 'half_open';

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
    release = 'go';
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
    close();
    // Waiters go ahead as probes: their next attempt sees the deleted or disabled endpoint and
    // ends as a dead letter (replayable once the endpoint is enabled again).
    release = 'probe';
  });

  // A nudge from an attempt that found the circuit half-open with no probe out (its row is
  // written), or the registration of a delivery from before the waiter table.
  setHandler(circuitWaitSignal, ({ workflowId }) => {
    adopt.push(workflowId);
    nudged = true;
  });
  // Already on the table: late upgrade requests need nothing.
  setHandler(breakerUpgradeSignal, () => undefined);

  for (;;) {
    if (adopt.length > 0) {
      await adoptWaiters({ endpointId, workflowIds: adopt.splice(0) });
      if (s.state === 'closed') release ??= 'go';
    }
    const now = Date.now();
    if (s.state === 'open' && s.openUntil !== null && now >= s.openUntil) {
      s.state = 'half_open';
      nudged = true;
      change();
    }
    if (s.state === 'half_open' && (s.probe ? now >= s.probe.until : nudged)) {
      nudged = false;
      const workflowId = await offerProbe({ endpointId });
      // An outcome may have closed or reopened the circuit meanwhile: then there is no probe to hold.
      if (s.state === 'half_open') {
        s.probe = workflowId === null ? null : { workflowId, until: Date.now() + PROBE_LEASE_MS };
        change();
      }
    }
    // The mirror first, and current (an outcome may change the state while it is written), so
    // released deliveries read the state they were released for, and a `go` release sees closed.
    while (published !== s.seq) {
      published = s.seq;
      await publishCircuitState({
        endpointId,
        state: s.state,
        consecutiveFailures: s.consecutiveFailures,
        openUntil: s.openUntil,
        seq: s.seq,
        waiterTable: true,
        probeUntil: s.probe?.until ?? null,
      });
      upsertIfIndexed([{ key: searchAttributes.circuitState, value: s.state }]);
    }
    if (release !== null) {
      const permit: CircuitPermit = release;
      release = null;
      await releaseWaiters({ endpointId, permit });
    }

    if (retired) {
      await condition(allHandlersFinished);
      return;
    }

    const info = workflowInfo();
    const settled = adopt.length === 0 && release === null;
    if (settled && (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY)) {
      await condition(allHandlersFinished);
      await continueAsNew<EndpointWorkflow>({ endpointId, config, carried: s });
    }

    const deadline =
      s.state === 'open' ? s.openUntil : s.state === 'half_open' ? (s.probe?.until ?? null) : null;
    const seen = s.seq;
    const woken = () =>
      retired ||
      s.seq !== seen ||
      published !== s.seq ||
      release !== null ||
      adopt.length > 0 ||
      (s.state === 'half_open' && !s.probe && nudged);
    if (deadline === null) await condition(woken);
    else await condition(woken, Math.max(1, deadline - Date.now()));
  }
}

const initialState = (): BreakerState => ({
  state: 'closed',
  consecutiveFailures: 0,
  openUntil: null,
  probe: null,
  recentKeys: [],
  seq: 0,
  outcomes: 0,
  opened: 0,
});
