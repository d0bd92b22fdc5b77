import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import type { Db } from './db/pool.js';
import { ping } from './db/stats.js';
import { countFailingWorkflows } from './temporal/problems.js';

export type PartStatus = 'ok' | 'down';

export interface Health {
  /** ok: all up; degraded: events are accepted, delivery waits (Temporal or worker down); unhealthy: the database is down. */
  status: 'ok' | 'degraded' | 'unhealthy';
  api: PartStatus;
  database: PartStatus;
  temporal: PartStatus;
  worker: PartStatus;
  failing: string[];
  /**
   * Running workflows of the task queue whose workflow tasks keep failing (Temporal's
   * `TemporalReportedProblems`): they make no progress until fixed. Null when it cannot be read.
   */
  failingWorkflowTasks: number | null;
  /** Why each failing part is down (a timeout, a refused connection); only when one is. */
  reasons?: Record<string, string>;
}

export interface HealthDeps {
  db: Db;
  temporal: Client;
  namespace: string;
  taskQueue: string;
}

/** Each check answers within this, so /health answers within about as long whatever is down. */
export const CHECK_TIMEOUT_MS = 1_500;

const timeout = <T>(ms: number, work: Promise<T>) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/**
 * The database (`SELECT 1`), Temporal (`GetSystemInfo`) and a worker (a poller on the task
 * queue: Temporal lists one for about a minute after its last poll), each bounded by
 * CHECK_TIMEOUT_MS. The database down is `unhealthy` (HTTP 503: nothing can be accepted);
 * Temporal or the worker down is `degraded` (HTTP 200: events are still accepted and wait).
 */
export async function checkHealth(deps: HealthDeps): Promise<{ httpStatus: number; body: Health }> {
  const reasons: Record<string, string> = {};
  const check = (part: string, fn: () => Promise<boolean>): Promise<PartStatus> =>
    timeout(CHECK_TIMEOUT_MS, fn()).then(
      (up) => {
        if (!up) reasons[part] = 'no worker has polled the task queue in the last minute';
        return up ? 'ok' : 'down';
      },
      (err: unknown) => {
        reasons[part] = err instanceof Error ? err.message : String(err);
        return 'down';
      },
    );
  const deadline = () => new Date(Date.now() + CHECK_TIMEOUT_MS);
  const failingTasks = timeout(
    CHECK_TIMEOUT_MS,
    deps.temporal.connection.withDeadline(deadline(), () =>
      countFailingWorkflows(deps.temporal, deps.taskQueue),
    ),
  ).catch(() => null);
  const [database, temporal, worker, failingWorkflowTasks] = await Promise.all([
    check('database', async () => (await ping(deps.db), true)),
    check('temporal', () =>
      deps.temporal.connection.withDeadline(deadline(), async () => {
        await deps.temporal.workflowService.getSystemInfo({});
        return true;
      }),
    ),
    check('worker', () =>
      deps.temporal.connection.withDeadline(deadline(), async () => {
        const described = await deps.temporal.workflowService.describeTaskQueue({
          namespace: deps.namespace,
          taskQueue: { name: deps.taskQueue },
          taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return (described.pollers?.length ?? 0) > 0;
      }),
    ),
    failingTasks,
  ]);
  const parts = { api: 'ok' as const, database, temporal, worker };
  const failing = Object.entries(parts)
    .filter(([, v]) => v !== 'ok')
    .map(([k]) => k);
  const status = database === 'down' ? 'unhealthy' : failing.length ? 'degraded' : 'ok';
  return {
    httpStatus: status === 'unhealthy' ? 503 : 200,
    body: { status, ...parts, failing, failingWorkflowTasks, ...(failing.length ? { reasons } : {}) },
  };
}
