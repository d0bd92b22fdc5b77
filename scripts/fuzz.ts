// `npm run test:fuzz`: schemathesis against /openapi.json of the real stack (embedded PostgreSQL,
// Temporal dev server, the API), failing on any 5xx, any status or body the document does not
// describe, and any hang. The seed is printed; `HOOKLINE_FUZZ_SEED=<seed> npm run test:fuzz`
// replays a run. HOOKLINE_FUZZ_EXAMPLES sets the cases per operation and phase (default 100).
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { api, startStack, type TestStack } from '../test/helpers/stack.js';
import {
  ensureSchemathesis,
  missingSchemathesisMessage,
  schemathesisEnv,
  SCHEMATHESIS_VERSION,
} from './fuzz-tools.mjs';

const seed = Number(process.env.HOOKLINE_FUZZ_SEED ?? randomInt(1, 2 ** 31));
const examples = Number(process.env.HOOKLINE_FUZZ_EXAMPLES ?? 100);
/** At least this many cases in all, or the run fails (a fuzz that ran nothing proves nothing). */
const MIN_CASES = 1000;
/** The whole schemathesis run; past it the run is killed and fails as a hang. */
const RUN_LIMIT_MS = 10 * 60_000;
/** One request; a slower answer fails the run as a hang. */
const REQUEST_TIMEOUT_S = 15;
/** The checks: no 5xx, only documented statuses, bodies matching their documented schemas. */
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'response_schema_conformance'];

interface Run {
  name: string;
  slug: string;
  token: string;
  include: string[];
}

/** Runs schemathesis once; resolves with its exit code and the number of cases it ran. */
function schemathesis(python: string, stack: TestStack, run: Run): Promise<{ code: number; cases: number }> {
  const args = [
    '-m',
    'schemathesis.cli',
    'run',
    `${stack.platform.apiUrl}/openapi.json`,
    '--header',
    `Authorization: Bearer ${run.token}`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(examples),
    '--seed',
    String(seed),
    // One worker: hypothesis's lambda descriptions are not thread-safe on every Python 3.11.
    '--workers',
    '1',
    '--request-timeout',
    String(REQUEST_TIMEOUT_S),
    // NUL in strings is exactly what PostgreSQL refuses: generate it.
    '--generation-allow-x00',
    'true',
    '--generation-database',
    'none',
    '--suppress-health-check',
    'all',
    '--no-color',
    '--output-truncate',
    'true',
    ...run.include,
    // Every request and answer, to read after a failure.
    '--report',
    'har',
    '--report-har-path',
    `test-artifacts/fuzz/${run.slug}.har`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { env: schemathesisEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => {
      console.error(
        `\nfuzz: ${run.name} ran past ${RUN_LIMIT_MS / 60_000} minutes: killed, counted as a hang`,
      );
      child.kill('SIGKILL');
    }, RUN_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The summary says e.g. "Test cases:\n  1234 generated, 1234 passed"
      const cases = Number(/(\d+) generated/.exec(output)?.[1] ?? 0);
      resolve({ code: code ?? 1, cases });
    });
  });
}

const python = ensureSchemathesis({ log: (line) => console.log(line) });
if (!python) {
  console.error(`fuzz: ${missingSchemathesisMessage()}`);
  process.exit(1);
}

console.log(`fuzz: schemathesis ${SCHEMATHESIS_VERSION}, seed ${seed}, ${examples} examples per operation`);
console.log(`fuzz: replay with HOOKLINE_FUZZ_SEED=${seed} npm run test:fuzz`);
// The API role: the real PostgreSQL and Temporal behind the real HTTP API, but no worker, so the
// events the fuzzer accepts are not delivered to the URLs it invents. No rate limit: 429s would
// cut the cases short.
const stack = await startStack({ env: { HOOKLINE_ROLE: 'api', HOOKLINE_RATE_LIMIT: '0' } });
let failed = false;
try {
  // A resource of each kind exists, so some generated ids and bodies reach deeper than a 404.
  await api(stack, 'POST', '/api/endpoints', {
    name: 'fuzz',
    url: 'https://example.com/hook',
    events: ['*'],
  });
  const runs: Run[] = [
    {
      name: 'API',
      slug: 'api',
      token: stack.apiKey,
      // The event stream never ends by design; its behaviour is tested in observability.test.ts.
      include: ['--exclude-path-regex', '^/api/(admin/|metrics/stream)'],
    },
    {
      name: 'admin API',
      slug: 'admin',
      token: stack.config.adminToken!,
      include: ['--include-path-regex', '^/api/admin/'],
    },
  ];
  let total = 0;
  for (const run of runs) {
    console.log(`\nfuzz: the ${run.name}`);
    const { code, cases } = await schemathesis(python, stack, run);
    total += cases;
    if (code !== 0) {
      failed = true;
      console.error(`fuzz: the ${run.name} failed (schemathesis exit ${code}); seed ${seed}`);
    }
  }
  console.log(`\nfuzz: ${total} cases in all, seed ${seed}`);
  if (total < MIN_CASES) {
    failed = true;
    console.error(`fuzz: fewer than ${MIN_CASES} cases ran`);
  }
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
