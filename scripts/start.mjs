// `npm start`: runs the compiled server (dist/), building it first when there is none or a source
// changed since the last build (a fresh clone's `npm install` has built it already). The build
// runs in a child process, so its memory is not the server's; the server then runs in this
// process (npm's `exec` makes it the process npm signals).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, ROOT, staleReason } from './build.mjs';

const reason = staleReason();
if (reason) {
  process.stderr.write(`hookline: building (${reason})…\n`);
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) {
    process.stderr.write('hookline: the build failed (above); nothing was started\n');
    process.exit(1);
  }
}
await import(pathToFileURL(path.join(DIST, 'src', 'main.js')).href);
