import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './pool.js';

export const DEFAULT_APPLICATION_ID = 'app_default';
const BOOTSTRAP_KEY_ID = 'key_bootstrap';

/** API keys are long random strings, so a plain SHA-256 is a safe one-way store. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `hk_${randomBytes(24).toString('base64url')}`;
}

/**
 * Makes sure the `default` application exists and that `bootstrapKey` is its bootstrap key.
 * Re-running with the same key changes nothing; a new key replaces the old bootstrap key.
 */
export async function ensureDefaultApplication(db: Db, bootstrapKey: string): Promise<void> {
  await db.query(`INSERT INTO applications (id, name) VALUES ($1, 'default') ON CONFLICT (id) DO NOTHING`, [
    DEFAULT_APPLICATION_ID,
  ]);
  await db.query(
    `INSERT INTO api_keys (id, application_id, name, key_hash, key_prefix)
     VALUES ($1, $2, 'bootstrap', $3, $4)
     ON CONFLICT (id) DO UPDATE SET key_hash = EXCLUDED.key_hash, key_prefix = EXCLUDED.key_prefix, revoked_at = NULL`,
    [BOOTSTRAP_KEY_ID, DEFAULT_APPLICATION_ID, hashApiKey(bootstrapKey), bootstrapKey.slice(0, 6)],
  );
}

/** The application an API key belongs to, or undefined for an unknown or revoked key. */
export async function applicationForKey(db: Db, key: string): Promise<string | undefined> {
  const { rows } = await db.query<{ application_id: string }>(
    'SELECT application_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hashApiKey(key)],
  );
  return rows[0]?.application_id;
}
