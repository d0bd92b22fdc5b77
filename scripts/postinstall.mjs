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
