// npm's postinstall step: make sure both Temporal binaries are present. It never fails the
// install; a missing binary is reported here and again, as an error, when it is needed.
import { ensureBinaries, missingBinaryMessage } from './temporal-binaries.mjs';

const { found, missing } = await ensureBinaries();
for (const [kind, where] of Object.entries(found)) {
  console.log(
    `hookline: ${kind === 'cli' ? 'temporal' : 'temporal-test-server'} → ${where.path} (${where.source})`,
  );
}
for (const kind of missing) console.warn(`\nhookline: ${missingBinaryMessage(kind)}\n`);

// The API fuzzer of `npm test` (a development tool: not in production installs).
if (process.env.NODE_ENV !== 'production') {
  const { ensureSchemathesis, missingSchemathesisMessage } = await import('./fuzz-tools.mjs');
  if (!ensureSchemathesis()) console.warn(`\nhookline: ${missingSchemathesisMessage()}\n`);
}
