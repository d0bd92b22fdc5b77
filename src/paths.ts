import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The package's root (the folder with package.json and dashboard/): `src/..` when running from
 * the TypeScript sources, `dist/src/../..` when running the build.
 */
export const PACKAGE_ROOT: string = (() => {
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(here, '..');
  }
})();
