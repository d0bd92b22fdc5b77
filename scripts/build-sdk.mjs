// Builds sdk/dist from sdk/src: JavaScript with esbuild (a runtime dependency) and, when the
// TypeScript compiler is installed (a dev install), declaration files. Run by `npm install`
// (the `prepare` script) so `import … from '@hookline/sdk'` works from a fresh clone.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const sdk = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'sdk');
const entries = readdirSync(path.join(sdk, 'src'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(sdk, 'src', f));
const common = { outdir: path.join(sdk, 'dist'), format: 'esm', platform: 'node', target: 'node20' };
const cli = path.join(sdk, 'src', 'cli.ts');
await build({ ...common, entryPoints: entries.filter((e) => e !== cli) });
// The command-line tool (`hookline`, the root package's bin) runs as a script.
await build({ ...common, entryPoints: [cli], banner: { js: '#!/usr/bin/env node' } });
chmodSync(path.join(sdk, 'dist', 'cli.js'), 0o755);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}
if (tsc && existsSync(tsc)) {
  execFileSync(process.execPath, [tsc, '-p', path.join(sdk, 'tsconfig.json'), '--emitDeclarationOnly'], {
    stdio: 'inherit',
  });
}
console.log(`sdk: built ${entries.length} modules into sdk/dist${tsc ? ' (with types)' : ''}`);
