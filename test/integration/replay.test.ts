import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { buildServer, staleReason, WORKFLOW_BUNDLE } from '../../scripts/build.mjs';
import { installRuntime } from '../../src/temporal/worker.js';
import { workflowBundle } from '../helpers/stack.js';
import { PATCH_LEVEL } from '../../workflows/contract.js';

const HISTORIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'histories');

async function goldenHistories(): Promise<Array<{ workflowId: string; history: unknown }>> {
  const out: Array<{ workflowId: string; history: unknown }> = [];
  for (const type of await readdir(HISTORIES)) {
    for (const file of await readdir(path.join(HISTORIES, type))) {
      out.push({
        workflowId: `${type}/${file}`,
        history: JSON.parse(await readFile(path.join(HISTORIES, type, file), 'utf8')),
      });
    }
  }
  return out;
}

/** The files listed in the first test. */
const GOLDEN_COUNT = 32;

describe('golden histories', () => {
  it('cover every workflow type and the delivery scenarios', async () => {
    const ids = (await goldenHistories()).map((h) => h.workflowId).sort();
    assert.deepEqual(ids, [
      'deliveryWorkflow/breaker-wait.activities.json',
      'deliveryWorkflow/breaker-wait.json',
      'deliveryWorkflow/breaker-wait.p1.json',
      'deliveryWorkflow/breaker-wait.v2.json',
      'deliveryWorkflow/cancelled-while-retrying.json',
      'deliveryWorkflow/cancelled-while-retrying.p1.json',
      'deliveryWorkflow/dead-letter.activities.json',
      'deliveryWorkflow/dead-letter.json',
      'deliveryWorkflow/dead-letter.p1.json',
      'deliveryWorkflow/reset-after-dead-letter.json',
      'deliveryWorkflow/reset-after-dead-letter.p1.json',
      'deliveryWorkflow/retries.activities.json',
      'deliveryWorkflow/retries.json',
      'deliveryWorkflow/retries.p1.json',
      'deliveryWorkflow/success.activities.json',
      'deliveryWorkflow/success.json',
      'deliveryWorkflow/success.p1.json',
      'deliveryWorkflow/throttled.json',
      'deliveryWorkflow/throttled.p1.json',
      'endpointWorkflow/open-probe-close.json',
      'endpointWorkflow/open-probe-close.v2.json',
      'eventWorkflow/fanout-can.p1.run1.json',
      'eventWorkflow/fanout-can.p1.run2.json',
      'eventWorkflow/fanout-can.p1.run3.json',
      'eventWorkflow/fanout-can.run1.json',
      'eventWorkflow/fanout-can.run2.json',
      'eventWorkflow/fanout-can.run3.json',
      'eventWorkflow/fanout-two.activities.json',
      'eventWorkflow/fanout-two.json',
      'eventWorkflow/fanout-two.p1.json',
      'eventWorkflow/fanout-two.v2.json',
      'retentionWorkflow/purge.json',
    ]);
  });

  it('were recorded with local activities, and the *.activities.json ones before that patch', async () => {
    for (const { workflowId, history } of await goldenHistories()) {
      // The breaker and retention (a long, heartbeating activity) use regular activities by design.
      if (workflowId.startsWith('endpointWorkflow/') || workflowId.startsWith('retentionWorkflow/')) continue;
      const types = (history as { events: Array<{ eventType: string }> }).events.map((e) => e.eventType);
      const scheduled = types.filter((t) => t.endsWith('ACTIVITY_TASK_SCHEDULED')).length;
      const markers = types.filter((t) => t.endsWith('MARKER_RECORDED')).length;
      if (workflowId.endsWith('.activities.json')) {
        assert.ok(scheduled > 0 && markers === 0, `${workflowId}: regular activities only`);
      } else {
        assert.ok(scheduled === 0 && markers > 0, `${workflowId}: local activities only`);
      }
    }
  });

  it('at PATCH_LEVEL (*.p1.*) record no patch marker and no TemporalChangeVersion upsert; older ones do', async () => {
    let leveled = 0;
    for (const { workflowId, history } of await goldenHistories()) {
      if (!workflowId.startsWith('eventWorkflow/') && !workflowId.startsWith('deliveryWorkflow/')) continue;
      const events = (
        history as {
          events: Array<{
            eventType: string;
            markerRecordedEventAttributes?: { markerName: string };
            upsertWorkflowSearchAttributesEventAttributes?: {
              searchAttributes: { indexedFields: Record<string, unknown> };
            };
          }>;
        }
      ).events;
      const patchMarkers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
      const versionUpserts = events.filter(
        (e) =>
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes.indexedFields
            .TemporalChangeVersion !== undefined,
      );
      if (workflowId.includes('.p1.')) {
        leveled++;
        assert.equal(patchMarkers.length, 0, `${workflowId}: a patch marker`);
        assert.equal(versionUpserts.length, 0, `${workflowId}: a TemporalChangeVersion upsert`);
      } else if (workflowId.endsWith('.v2.json') || workflowId.endsWith('/success.json')) {
        // Recorded before the level: the same scenarios paid a marker and an upsert per patch.
        assert.ok(patchMarkers.length > 0 && versionUpserts.length > 0, `${workflowId}: markers expected`);
      }
    }
    assert.equal(leveled, 11);
  });

  it('at PATCH_LEVEL in their input but recorded by a worker without it (a rolling upgrade) replay too', async () => {
    // A process with the level may start an execution that a worker without it runs first: that
    // worker calls patched() and records the markers. A worker with the level must replay it.
    // Made from goldens recorded with markers, by adding the level to their input.
    const withLevel = (history: unknown) => {
      const copy = structuredClone(history) as {
        events: Array<{
          workflowExecutionStartedEventAttributes?: { input: { payloads: Array<{ data: string }> } };
        }>;
      };
      const payload = copy.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
      const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as object;
      payload.data = Buffer.from(JSON.stringify({ ...input, patchLevel: PATCH_LEVEL })).toString('base64');
      return copy;
    };
    const sources = [
      'deliveryWorkflow/throttled.json',
      'deliveryWorkflow/breaker-wait.v2.json',
      'deliveryWorkflow/cancelled-while-retrying.json',
      'eventWorkflow/fanout-two.v2.json',
    ];
    const goldens = new Map((await goldenHistories()).map((h) => [h.workflowId, h.history]));
    installRuntime();
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      sources.map((id) => ({
        workflowId: id.replace('.json', '.mixed'),
        history: withLevel(goldens.get(id)),
      })),
    );
    let count = 0;
    for await (const r of results) {
      count++;
      assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    }
    assert.equal(count, sources.length);
  });

  it('replay against the current workflow code without a determinism error', async () => {
    installRuntime();
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      await goldenHistories(),
    );
    let count = 0;
    for await (const r of results) {
      count++;
      assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    }
    assert.equal(count, GOLDEN_COUNT);
  });

  it('replay against the bundle that ships (dist/workflow-bundle.js, as the compiled worker loads it)', async () => {
    installRuntime();
    // The bundle of `npm run build` for the current sources (built again if one changed).
    if (staleReason()) await buildServer();
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: WORKFLOW_BUNDLE } },
      await goldenHistories(),
    );
    let count = 0;
    for await (const r of results) {
      count++;
      assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    }
    assert.equal(count, GOLDEN_COUNT);
  });
});
