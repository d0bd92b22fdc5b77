import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { purgeExpiredBatch, retentionPolicies } from '../src/db/retention.js';
import type { Db } from '../src/db/pool.js';
import { addCounts, noRows } from '../src/domain/retention.js';
import type { Metrics } from '../src/metrics.js';
import type { RetentionPass, RetentionPassResult } from '../workflows/contract.js';

export interface RetentionDeps {
  db: Db;
  metrics?: Metrics | undefined;
  log?: Logger | undefined;
}

export function createRetentionActivities(deps: RetentionDeps) {
  return {
    /**
     * Deletes expired events of every application, a short statement (one batch) at a time, and
     * heartbeats after each, up to `maxBatches` (then it says where the next pass resumes). Safe
     * to run again: a batch that
     * committed is gone, one that did not left nothing half-deleted. Rows are counted in the
     * metric as each batch commits.
     */
    async purgeExpiredEvents(pass: RetentionPass): Promise<RetentionPassResult> {
      const ctx = Context.current();
      let deleted = noRows();
      let batches = 0;
      const policies = await retentionPolicies(deps.db, pass.defaultDays, pass.resumeAt);
      for (const { applicationId, days } of policies) {
        for (;;) {
          if (batches >= pass.maxBatches) return { deleted, resumeAt: applicationId };
          ctx.cancellationSignal.throwIfAborted();
          const batch = await purgeExpiredBatch(deps.db, {
            applicationId,
            days,
            maxEvents: pass.maxEvents,
            maxDeliveries: pass.maxDeliveries,
          });
          batches++;
          deps.metrics?.retentionDeleted(batch);
          deleted = addCounts(deleted, batch);
          ctx.heartbeat({ applicationId, deleted });
          if (batch.events === 0) break;
        }
      }
      if (deleted.events > 0) deps.log?.info({ deleted }, 'retention: expired events deleted');
      return { deleted, resumeAt: null };
    },
  };
}
