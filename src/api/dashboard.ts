import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { transform } from 'esbuild';
import { PACKAGE_ROOT } from '../paths.js';

const DASHBOARD = path.join(PACKAGE_ROOT, 'dashboard');
/** src/domain beside this module: TypeScript sources, or the build's JavaScript in dist/. */
const DOMAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'domain');
const SOURCE_EXT = path.extname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
/** The ESM build beside a package entry's CommonJS file (`dist/x.js` → `dist/x.module.js`). */
const esmBeside = (specifier: string, file: string) =>
  path.join(path.dirname(require.resolve(specifier)), file);

/** The ES modules the page imports by bare name (its import map points here). */
const VENDOR: Record<string, () => string> = {
  'preact.module.js': () => esmBeside('preact', 'preact.module.js'),
  'hooks.module.js': () => esmBeside('preact/hooks', 'hooks.module.js'),
  'htm.module.js': () => esmBeside('htm', 'htm.module.js'),
};

/**
 * Server modules the page imports, compiled for the browser once per process (each imports only
 * the others here): one source for the retry schedule and for the lists the forms offer.
 */
const SHARED: Record<string, string> = { 'retry.js': 'retry', 'vocabulary.js': 'vocabulary' };

/**
 * The web dashboard at `/`: static ES modules (Preact + htm, no build step), the vendored modules
 * from node_modules, and the server's own retry-schedule code compiled for the browser, so the
 * form's delay preview is computed by exactly the code that schedules retries.
 */
export function dashboardRoutes(): Router {
  const router = Router();
  const compiled: Record<string, Promise<string>> = {};

  // The page holds an API key: only its own scripts run (the inline import map by its hash), it
  // talks only to this origin, and no other site may frame it.
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(
    readFileSync(path.join(DASHBOARD, 'index.html'), 'utf8'),
  )?.[1];
  const importMapHash = importMap ? createHash('sha256').update(importMap).digest('base64') : '';
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
  router.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', csp);
    next();
  });
  router.get('/', (_req, res) => res.sendFile(path.join(DASHBOARD, 'index.html')));
  router.get('/dashboard/vendor/:file', (req, res, next) => {
    const file = VENDOR[req.params.file];
    if (!file) return next();
    res.type('text/javascript').sendFile(file());
  });
  router.get('/dashboard/:file', async (req, res, next) => {
    const source = SHARED[req.params.file];
    if (!source) return next();
    try {
      compiled[req.params.file] ??= readFile(path.join(DOMAIN, source + SOURCE_EXT), 'utf8').then(
        async (ts) => (await transform(ts, { loader: 'ts', format: 'esm' })).code,
      );
      res.type('text/javascript').send(await compiled[req.params.file]);
    } catch (err) {
      delete compiled[req.params.file];
      next(err);
    }
  });
  router.use('/dashboard', express.static(DASHBOARD, { index: false, fallthrough: true }));
  return router;
}
