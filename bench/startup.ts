// Start-up time (spawn → /health answers 200 "ok") and memory of the Hookline process, running
// the TypeScript sources with tsx (webpack bundles the workflows at start) against running the
// build (dist/, prebuilt workflow bundle). Alternates the two on one data dir, after a first start
// that initialises it, so PostgreSQL's initdb is not counted:
//   npx tsx bench/startup.ts [runs per variant, default 3]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildServer, staleReason } from '../scripts/build.mjs';
import { freePort } from '../test/helpers/ports.js';

const VARIANTS = {
  'tsx + webpack at start': ['--import', 'tsx', 'src/main.ts'],
  'compiled + prebuilt bundle': ['dist/src/main.js'],
} as const;

const kib = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function once(args: readonly string[], dataDir: string, env: Record<string, string>) {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, HOOKLINE_DATA_DIR: dataDir },
    stdio: 'ignore',
  });
  const pid = child.pid!;
  let ms = 0;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${env.PORT}/health`)
      .then(async (r) => r.status === 200 && ((await r.json()) as { status: string }).status === 'ok')
      .catch(() => false);
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}`);
    if (performance.now() - started > 120_000) throw new Error('no /health 200 within 120 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  ms = performance.now() - started;
  const rssAtHealth = kib(pid, 'VmRSS');
  await new Promise((r) => setTimeout(r, 10_000)); // settled, idle
  const rssIdle = kib(pid, 'VmRSS');
  const peak = kib(pid, 'VmHWM');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { ms, rssAtHealth, rssIdle, peak };
}

const runs = Number(process.argv[2] ?? 3);
if (staleReason()) await buildServer();
const dataDir = await mkdtemp(path.join(tmpdir(), 'hookline-startup-'));
const env = {
  PORT: String(await freePort()),
  HOOKLINE_TEMPORAL_PORT: String(await freePort()),
  HOOKLINE_TEMPORAL_UI_PORT: String(await freePort()),
  HOOKLINE_POSTGRES_PORT: String(await freePort()),
  HOOKLINE_LOG_LEVEL: 'warn',
};
try {
  await once(VARIANTS['compiled + prebuilt bundle'], dataDir, env); // initdb, migrations
  const results: Record<string, Array<Awaited<ReturnType<typeof once>>>> = {};
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(VARIANTS)) {
      const r = await once(args, dataDir, env);
      (results[name] ??= []).push(r);
      console.error(`${name}: ${Math.round(r.ms)} ms, RSS ${Math.round(r.rssAtHealth / 1024)} MB`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mb = (k: number) => `${Math.round(k / 1024)} MB`;
  console.log(
    '| process | start → /health 200 "ok" (median, all runs) | RSS at that moment | RSS idle 10 s later | peak RSS |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, rs] of Object.entries(results)) {
    const ms = rs.map((r) => Math.round(r.ms));
    console.log(
      `| ${name} | ${median(ms)} ms (${ms.join(', ')}) | ${mb(median(rs.map((r) => r.rssAtHealth)))} | ${mb(median(rs.map((r) => r.rssIdle)))} | ${mb(median(rs.map((r) => r.peak)))} |`,
    );
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
