// Builds the server into dist/ (`npm run build`; also run by `npm install` and by `npm start` when a
// source changed since the last build):
//   - every TypeScript module of src/, workflows/, activities/ and the operator scripts, transpiled
//     one file at a time by esbuild, as tsx did at run time (types are checked by
//     `npm run typecheck`; esbuild is a runtime dependency, so a production install builds too);
//   - the files that code reads at run time (migrations, the Temporal binaries lookup);
//   - dist/workflow-bundle.js: the workflows bundled once with Temporal's bundleWorkflowCode, which
//     the worker loads instead of bundling with webpack at every start.
// The new build is written beside dist/ and swapped in whole, so a running process never sees
// half of one.
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const WORKFLOW_BUNDLE = path.join(DIST, 'workflow-bundle.js');
const BUILD_INFO = 'build-info.json';

const SOURCE_DIRS = ['src', 'workflows', 'activities'];
/** Operator tools shipped compiled (`node dist/scripts/backup.js backup <dir>` in the image). */
const SCRIPTS = ['scripts/replay.ts', 'scripts/backup.ts', 'scripts/history-json.ts'];
/** Read at run time, relative to the module that reads them. */
const ASSETS = ['scripts/temporal-binaries.mjs'];
const ASSET_DIRS = ['src/db/migrations'];

function filesUnder(dir) {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(rel) : [rel];
  });
}

const entryPoints = () => [
  ...SOURCE_DIRS.flatMap(filesUnder).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
  ...SCRIPTS,
];

/** Everything a build is made from: when one is newer than the build, the build is stale. */
function inputs() {
  return [
    ...SOURCE_DIRS.flatMap(filesUnder),
    ...SCRIPTS,
    ...ASSETS,
    'package-lock.json',
    'scripts/build.mjs',
  ];
}

/** Why dist/ must be built again, or undefined when it is up to date. */
export function staleReason() {
  let builtAt;
  try {
    builtAt = statSync(path.join(DIST, BUILD_INFO)).mtimeMs;
  } catch {
    return 'no build in dist/';
  }
  for (const file of inputs()) {
    let changed;
    try {
      changed = statSync(path.join(ROOT, file)).mtimeMs;
    } catch {
      continue; // a file listed but absent (package-lock.json in a copy without it)
    }
    if (changed > builtAt) return `${file} changed since the last build`;
  }
  return undefined;
}

const quiet = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message) {
    process.stderr.write(`${message}\n`);
  },
  error(message) {
    process.stderr.write(`${message}\n`);
  },
};

export async function buildServer() {
  const started = Date.now();
  const next = `${DIST}.next`;
  await rm(next, { recursive: true, force: true });
  const { build } = await import('esbuild');
  const entries = entryPoints();
  await build({
    entryPoints: entries.map((f) => path.join(ROOT, f)),
    outdir: next,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  for (const file of [...ASSETS, ...ASSET_DIRS.flatMap(filesUnder)]) {
    await mkdir(path.dirname(path.join(next, file)), { recursive: true });
    await copyFile(path.join(ROOT, file), path.join(next, file));
  }
  // Bundled from the compiled modules: the bundle holds exactly the code that ships.
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(next, 'workflows', 'index.js'),
    logger: quiet,
  });
  await writeFile(path.join(next, 'workflow-bundle.js'), code);
  const info = { builtAt: new Date().toISOString(), modules: entries.length, bundleBytes: code.length };
  await writeFile(path.join(next, BUILD_INFO), `${JSON.stringify(info, null, 2)}\n`);

  const old = `${DIST}.old`;
  await rm(old, { recursive: true, force: true });
  if (await stat(DIST).catch(() => undefined)) await rename(DIST, old);
  await rename(next, DIST);
  await rm(old, { recursive: true, force: true });
  return { ...info, ms: Date.now() - started };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const info = await buildServer();
  const kb = Math.round(info.bundleBytes / 1024);
  console.log(
    `build: ${info.modules} modules and the workflow bundle (${kb} KiB) into dist/ in ${info.ms} ms`,
  );
}
