import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { endpointStats, recentTraffic, undispatchedEvents, waitingDeliveries } from '../db/stats.js';
import { taskQueueBacklog } from '../metrics.js';

export interface StatsDeps {
  db: Db;
  temporal: Client;
  namespace: string;
  taskQueue: string;
}

/** What an application's dashboard shows: queues, per-endpoint statistics, the last minute of traffic. */
export function createStats(deps: StatsDeps) {
  /** Queue sizes from Temporal (task backlogs) and the query model (deliveries and events waiting). */
  async function queues(applicationId: string) {
    const [backlog, waiting, undispatched] = await Promise.all([
      // Temporal not answering leaves its numbers unknown; the rest still counts.
      taskQueueBacklog(deps).catch(() => ({ workflowTasks: null, activityTasks: null })),
      waitingDeliveries(deps.db, applicationId),
      undispatchedEvents(deps.db, applicationId),
    ]);
    return {
      workflowTasks: backlog.workflowTasks,
      activityTasks: backlog.activityTasks,
      ...waiting,
      /** Accepted events whose workflow has not started yet (Temporal down, or a burst). */
      pendingDispatch: undispatched.pending,
      oldestPendingDispatchSeconds: undispatched.oldestSeconds,
    };
  }

  return {
    /** The queues and every endpoint's statistics. */
    async overview(applicationId: string) {
      const [q, endpoints] = await Promise.all([
        queues(applicationId),
        endpointStats(deps.db, applicationId),
      ]);
      return { queues: q, endpoints };
    },

    /** The last `seconds` of traffic and the queues now (the live stream's frame). */
    async recent(applicationId: string, seconds: number) {
      const [traffic, q] = await Promise.all([
        recentTraffic(deps.db, applicationId, seconds),
        queues(applicationId),
      ]);
      return { ...traffic, queues: q };
    },
  };
}

export type Stats = ReturnType<typeof createStats>;
