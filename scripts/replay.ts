// Replays a live workflow's history against the current workflow code (the TypeScript sources;
// compiled, `node dist/scripts/replay.js`, the build's bundle):
//   npm run replay -- <workflowId> [--run <runId>] [--save <file.json>]
// Uses TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE and the TLS / API key
// settings of npm start (TEMPORAL_TLS_*, TEMPORAL_API_KEY), checked the same way.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Worker } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../src/config.js';
import { connectClient } from '../src/temporal/client.js';
import { installRuntime, workflowCode } from '../src/temporal/worker.js';
import { exportHistory } from './history-json.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { run: { type: 'string' }, save: { type: 'string' } },
});
const workflowId = positionals[0];
if (!workflowId) {
  console.error('usage: npm run replay -- <workflowId> [--run <runId>] [--save <file.json>]');
  process.exit(2);
}
let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
installRuntime();
const address = config.temporalAddress ?? '127.0.0.1:7233';
const namespace = config.temporalNamespace;
const security = config.temporalSecurity;
const client = await connectClient(address, namespace, security);
try {
  const history = await client.workflow.getHandle(workflowId, values.run).fetchHistory();
  if (values.save)
    await writeFile(values.save, await exportHistory(address, namespace, workflowId, values.run, security));
  await Worker.runReplayHistory(workflowCode(), history, workflowId);
  console.log(`replay of ${workflowId} (${history.events?.length} events) matches the current code`);
} catch (err) {
  console.error(`replay of ${workflowId} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await client.connection.close();
}
