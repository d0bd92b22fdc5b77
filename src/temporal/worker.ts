import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NativeConnection, WorkflowBundleOption } from '@temporalio/worker';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Activities } from '../../activities/index.js';
import { temporalLogger } from '../logger.js';

/** Running from the TypeScript sources (tsx, tests) rather than from the build in dist/. */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
/** `npm run build`'s bundle (scripts/build.mjs): dist/workflow-bundle.js beside dist/src. */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../../workflow-bundle.js', import.meta.url));

/**
 * The workflow code a worker (or a replay) runs: a bundle given by the caller (tests build one
 * per file), else the build's prebuilt bundle, else, from the TypeScript sources only, the
 * workflows bundled now with webpack (seconds of CPU and a large JSON log line at every start).
 */
export function workflowCode(
  given?: WorkflowBundleWithSourceMap,
): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (given) return { workflowBundle: given };
  if (FROM_SOURCES) return { workflowsPath: WORKFLOWS_PATH };
  if (!existsSync(WORKFLOW_BUNDLE_PATH))
    throw new Error(`${WORKFLOW_BUNDLE_PATH} is missing: build it with \`npm run build\``);
  return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
}

let runtimeInstalled = false;

/**
 * The SDK's and core's own logs: warnings and above, into the given logger (JSON), or to the
 * console when there is none (tests), so a run's output stays readable.
 */
export function installRuntime(logger?: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install(
      logger
        ? {
            logger: temporalLogger(logger),
            telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
          }
        : { logger: new DefaultLogger('WARN') },
    );
  } catch {
    // Already installed by someone else (a test environment): keep theirs.
  }
}

export interface WorkerOptions {
  /** The process's native connection (its client shares it, for eager workflow starts). */
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  workflowTaskSlots: number;
  activitySlots: number;
  /** How long a stopping worker lets running activities finish. */
  shutdownGraceMs: number;
  /** A prebuilt bundle (tests build it once per file); otherwise see `workflowCode`. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    maxConcurrentWorkflowTaskExecutions: opts.workflowTaskSlots,
    maxConcurrentActivityTaskExecutions: opts.activitySlots,
    maxConcurrentLocalActivityExecutions: opts.activitySlots,
    // New event and delivery workflows arrive on the shared (non-sticky) queue: poll it more.
    nonStickyToStickyPollRatio: 0.5,
    shutdownGraceTime: opts.shutdownGraceMs,
    // Activities that ignore their cancellation (a query to a frozen database) must not hold the
    // process past the grace: what did not finish is retried by Temporal on another worker.
    shutdownForceTime: opts.shutdownGraceMs + 1_000,
    ...workflowCode(opts.workflowBundle),
  });
}
