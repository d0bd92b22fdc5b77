// The server's ceiling for the workflow shape, with nothing but Temporal in the way: a fresh
// embedded dev server (same flags as `npm start`), an in-process worker, and workflows whose
// activities do nothing. Run: npx tsx bench/ceiling.ts [count] [shape…] [--window N] [--json]
// Shapes (bench/ceiling-workflows.ts): one (a workflow with one activity), oneLocal (one local
// activity), parent (activity, child with one activity, activity: Hookline's shape before local
// activities), parentLocal (the same with local activities), handoff (a local activity, one child
// started and abandoned, the child one local activity: Hookline's shape now).
// --window N: a closed loop with N workflows in flight (as the end-to-end benchmark runs) instead
// of one burst. --json: one JSON line per shape (used by `npm run bench`, phase `ceiling`).
// Each shape reports its rate and the CPU per workflow (per parent with its child) of this Node
// process (client and worker) and of the dev server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { mapBounded } from '../src/concurrency.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { installRuntime } from '../src/temporal/worker.js';
import { freePort } from '../test/helpers/ports.js';
import { pidCpuSeconds } from './processes.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { window: { type: 'string' }, json: { type: 'boolean' } },
});
const count = Number(positionals[0] ?? 500);
const shapes = positionals.slice(1).length
  ? positionals.slice(1)
  : ['one', 'oneLocal', 'parent', 'parentLocal', 'handoff'];
const window = values.window ? Number(values.window) : undefined;

export interface CeilingReport {
  shape: string;
  count: number;
  window: number | null;
  seconds: number;
  perSecond: number;
  /** CPU ms per workflow (a parent with its child counts once). */
  cpuMs: { node: number; temporal: number };
}

const nodeCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

installRuntime();
for (const shape of shapes) {
  const dir = await mkdtemp(path.join(tmpdir(), 'hookline-ceiling-'));
  const dev = await startDevServer({
    dataDir: dir,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
  });
  const connection = await NativeConnection.connect({ address: dev.address });
  try {
    const worker = await Worker.create({
      connection,
      taskQueue: 'ceiling',
      workflowsPath: fileURLToPath(new URL('./ceiling-workflows.ts', import.meta.url)),
      activities: { noop: async () => {} },
      nonStickyToStickyPollRatio: 0.5,
      // Experiments: worker options as JSON (e.g. '{"debugMode":true}').
      ...(process.env.CEILING_WORKER_OPTIONS ? JSON.parse(process.env.CEILING_WORKER_OPTIONS) : {}),
    });
    const client = new Client({ connection });
    const start = (id: string) =>
      client.workflow.start(shape, { taskQueue: 'ceiling', workflowId: id, requestEagerStart: true });
    /** Done when the workflow and, for the shapes with a child, its child have completed. */
    const done = async (id: string) => {
      await client.workflow.getHandle(id).result();
      if (shape !== 'one' && shape !== 'oneLocal') await client.workflow.getHandle(`${id}:child`).result();
    };
    await worker.runUntil(async () => {
      const t0 = performance.now();
      const cpu0 = { node: nodeCpu(), temporal: pidCpuSeconds(dev.pid) };
      if (window) {
        await mapBounded(
          Array.from({ length: count }, (_, i) => `w${i}`),
          window,
          async (id) => {
            await start(id);
            await done(id);
          },
        );
      } else {
        const ids: string[] = [];
        for (let i = 0; i < count; i += 20) {
          const batch = Array.from({ length: Math.min(20, count - i) }, (_, j) => `w${i + j}`);
          await Promise.all(batch.map(start));
          ids.push(...batch);
        }
        await Promise.all(ids.map(done));
      }
      const seconds = (performance.now() - t0) / 1000;
      const report: CeilingReport = {
        shape,
        count,
        window: window ?? null,
        seconds,
        perSecond: count / seconds,
        cpuMs: {
          node: ((nodeCpu() - cpu0.node) * 1000) / count,
          temporal: ((pidCpuSeconds(dev.pid) - cpu0.temporal) * 1000) / count,
        },
      };
      console.log(
        values.json
          ? JSON.stringify(report)
          : `${shape}: ${count} workflows in ${seconds.toFixed(1)} s → ${report.perSecond.toFixed(1)} per second; CPU per workflow: Node ${report.cpuMs.node.toFixed(1)} ms, dev server ${report.cpuMs.temporal.toFixed(1)} ms`,
      );
    });
  } finally {
    await connection.close();
    await dev.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
