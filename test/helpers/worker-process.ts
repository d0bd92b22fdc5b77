import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestStack } from './stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Where this worker serves its own /metrics. */
  metricsUrl: string;
  output(): string;
  /** SIGKILL: the process gets no chance to finish anything. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
}

/** `npm start`'s entry point as a worker-only process against the stack's Temporal and PostgreSQL. */
export async function startWorkerProcess(
  stack: TestStack,
  name: string,
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOOKLINE_ROLE: 'worker',
      TEMPORAL_ADDRESS: stack.platform.temporalAddress,
      DATABASE_URL: stack.platform.databaseUrl,
      HOOKLINE_TASK_QUEUE: stack.config.temporalTaskQueue,
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true',
      HOOKLINE_DATA_DIR: path.join(stack.dataDir, name),
      HOOKLINE_LOG_LEVEL: 'warn',
      HOOKLINE_METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('Hookline is running.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited:\n${out}`));
    });
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  const metricsUrl = /Metrics:\s+(\S+)/.exec(out)?.[1] ?? '';
  return {
    child,
    metricsUrl,
    output: () => out,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
