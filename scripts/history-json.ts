import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary } from '../src/temporal/binaries.js';
import { temporalCli, type TemporalSecurity } from '../src/temporal/connection.js';

/**
 * A workflow's history as the Temporal CLI exports it (`temporal workflow show --output json`),
 * the JSON form that `Worker.runReplayHistory` accepts.
 */
export async function exportHistory(
  address: string,
  namespace: string,
  workflowId: string,
  runId?: string,
  security?: TemporalSecurity,
): Promise<string> {
  const cli = temporalCli(security);
  const args = [
    'workflow',
    'show',
    '--address',
    address,
    '--namespace',
    namespace,
    '--workflow-id',
    workflowId,
  ];
  if (runId) args.push('--run-id', runId);
  const { stdout } = await promisify(execFile)(
    requireBinary('cli'),
    [...args, ...cli.args, '--output', 'json'],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...cli.env } },
  );
  return stdout;
}
