// The server's ceiling for the workflow shape, with nothing but Temporal in the way: a fresh
// embedded dev server (same flags as `npm start`), an in-process worker, and workflows whose
// activities do nothing. Run: npx tsx bench/ceiling.ts [count] [shape…]
// Shapes (bench/ceiling-workflows.ts): one (a workflow with one activity), oneLocal (one local
// activity), parent (activity, child with one activity, activity: Hookline's shape before local
// activities), parentLocal (the same with local activities: Hookline's shape now).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer } from '../src/temporal/dev-server.js';
import { installRuntime } from '../src/temporal/worker.js';
import { freePort } from '../test/helpers/ports.js';

const count = Number(process.argv[2] ?? 500);
const shapes = process.argv.slice(3).length
  ? process.argv.slice(3)
  : ['one', 'oneLocal', 'parent', 'parentLocal'];

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
    });
    const client = new Client({ connection });
    await worker.runUntil(async () => {
      const t0 = performance.now();
      const handles = [];
      for (let i = 0; i < count; i += 20) {
        const starts = Array.from({ length: Math.min(20, count - i) }, (_, j) =>
          client.workflow.start(shape, {
            taskQueue: 'ceiling',
            workflowId: `w${i + j}`,
            requestEagerStart: true,
          }),
        );
        handles.push(...(await Promise.all(starts)));
      }
      await Promise.all(handles.map((h) => h.result()));
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `${shape}: ${count} workflows in ${seconds.toFixed(1)} s → ${(count / seconds).toFixed(1)} per second`,
      );
    });
  } finally {
    await connection.close();
    await dev.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
