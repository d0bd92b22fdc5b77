import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateApiKey } from './db/applications.js';

export interface Secrets {
  adminToken: string;
  bootstrapApiKey: string;
}

/**
 * The admin token and bootstrap API key: from the environment when set; otherwise generated on
 * first start and kept in `<dataDir>/secrets.json` (mode 0600), so the next start uses the same.
 * Values that come from the environment are never written to disk.
 */
export async function loadOrCreateSecrets(dataDir: string, fromEnv: Partial<Secrets>): Promise<Secrets> {
  const file = path.join(dataDir, 'secrets.json');
  let stored: Partial<Secrets> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Secrets>;
  } catch {
    // First start: nothing stored yet.
  }
  const kept = { ...stored };
  if (!fromEnv.adminToken) kept.adminToken ??= `hka_${randomBytes(24).toString('base64url')}`;
  if (!fromEnv.bootstrapApiKey) kept.bootstrapApiKey ??= generateApiKey();
  if (kept.adminToken !== stored.adminToken || kept.bootstrapApiKey !== stored.bootstrapApiKey) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(kept, null, 2) + '\n', { mode: 0o600 });
  }
  return {
    adminToken: fromEnv.adminToken ?? kept.adminToken!,
    bootstrapApiKey: fromEnv.bootstrapApiKey ?? kept.bootstrapApiKey!,
  };
}
