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

export interface Application {
  id: string;
  name: string;
  /** Days its events are kept; null: the deployment's HOOKLINE_RETENTION_DAYS. */
  retentionDays: number | null;
  createdAt: Date;
}

interface ApplicationRow {
  id: string;
  name: string;
  retention_days: number | null;
  created_at: Date;
}

const applicationFromRow = (r: ApplicationRow): Application => ({
  id: r.id,
  name: r.name,
  retentionDays: r.retention_days,
  createdAt: r.created_at,
});

export async function createApplication(
  db: Db,
  id: string,
  name: string,
  retentionDays: number | null = null,
): Promise<Application> {
  const { rows } = await db.query<ApplicationRow>(
    'INSERT INTO applications (id, name, retention_days) VALUES ($1, $2, $3) RETURNING *',
    [id, name, retentionDays],
  );
  return applicationFromRow(rows[0]!);
}

export async function listApplications(db: Db): Promise<Application[]> {
  const { rows } = await db.query<ApplicationRow>('SELECT * FROM applications ORDER BY created_at, id');
  return rows.map(applicationFromRow);
}

/** Changes the given fields; undefined when there is no such application. */
export async function updateApplication(
  db: Db,
  id: string,
  change: { name?: string | undefined; retentionDays?: number | null | undefined },
): Promise<Application | undefined> {
  const { rows } = await db.query<ApplicationRow>(
    `UPDATE applications SET name = COALESCE($2, name),
            retention_days = CASE WHEN $3 THEN $4::int ELSE retention_days END
      WHERE id = $1 RETURNING *`,
    [id, change.name ?? null, change.retentionDays !== undefined, change.retentionDays ?? null],
  );
  return rows[0] ? applicationFromRow(rows[0]) : undefined;
}

/** Deletes the application and, by cascade, its keys, endpoints, events and delivery records. */
export async function deleteApplication(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM applications WHERE id = $1', [id]);
  return rowCount === 1;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const keyFromRow = (r: ApiKeyRow): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  prefix: r.key_prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Stores only the key's hash; the caller shows the key once. */
export async function createApiKey(
  db: Db,
  applicationId: string,
  id: string,
  name: string,
  key: string,
): Promise<ApiKeyInfo> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, application_id, name, key_hash, key_prefix) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [id, applicationId, name, hashApiKey(key), key.slice(0, 6)],
  );
  return keyFromRow(rows[0]!);
}

export async function listApiKeys(db: Db, applicationId: string): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<ApiKeyRow>(
    'SELECT * FROM api_keys WHERE application_id = $1 ORDER BY created_at, id',
    [applicationId],
  );
  return rows.map(keyFromRow);
}

export async function revokeApiKey(db: Db, applicationId: string, keyId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND application_id = $2',
    [keyId, applicationId],
  );
  return rowCount === 1;
}

export async function applicationExists(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM applications WHERE id = $1', [id]);
  return rowCount === 1;
}
