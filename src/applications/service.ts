import {
  applicationExists,
  createApiKey,
  createApplication,
  deleteApplication,
  generateApiKey,
  listApiKeys,
  listApplications,
  revokeApiKey,
  updateApplication,
  type ApiKeyInfo,
} from '../db/applications.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';

/**
 * The admin use cases: applications and their API keys. `keysChanged` runs when a key stops
 * being valid (revoked, or its application deleted), so the API forgets keys it remembers.
 * Answers undefined (or false) for an application or key that does not exist.
 */
export function createApplicationService({ db, keysChanged }: { db: Db; keysChanged: () => void }) {
  return {
    create: (name: string, retentionDays: number | null) =>
      createApplication(db, newId('app'), name, retentionDays),

    list: () => listApplications(db),

    update: (id: string, changes: Parameters<typeof updateApplication>[2]) =>
      updateApplication(db, id, changes),

    async remove(id: string): Promise<boolean> {
      if (!(await deleteApplication(db, id))) return false;
      keysChanged();
      return true;
    },

    /** A new key, returned this once (Hookline keeps its SHA-256 hash). */
    async createKey(
      applicationId: string,
      name: string,
    ): Promise<(ApiKeyInfo & { key: string }) | undefined> {
      if (!(await applicationExists(db, applicationId))) return undefined;
      const key = generateApiKey();
      return { ...(await createApiKey(db, applicationId, newId('key'), name, key)), key };
    },

    async listKeys(applicationId: string): Promise<ApiKeyInfo[] | undefined> {
      if (!(await applicationExists(db, applicationId))) return undefined;
      return listApiKeys(db, applicationId);
    },

    async revokeKey(applicationId: string, keyId: string): Promise<boolean> {
      if (!(await revokeApiKey(db, applicationId, keyId))) return false;
      keysChanged();
      return true;
    },
  };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
