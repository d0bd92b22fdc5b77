import assert from 'node:assert/strict';
import { api, type TestStack } from './stack.js';

/**
 * `n` endpoints subscribed to `type`, endpoint i at `<receiverUrl>/<prefix>/<i>`: one made by the
 * API, the rest cloned from it in one SQL statement (ids of the same shape, in id order), so a
 * test or the benchmark can have thousands in a second.
 */
export async function cloneEndpoints(
  stack: TestStack,
  receiverUrl: string,
  type: string,
  n: number,
  prefix: string,
): Promise<void> {
  const made = await api(stack, 'POST', '/api/endpoints', {
    name: `${prefix}-0`,
    url: `${receiverUrl}/${prefix}/0`,
    events: [type],
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await stack.platform.db.query(
    `INSERT INTO endpoints (id, application_id, name, url, event_types, headers, secret, signature_header,
       timeout_ms, enabled, retry_config, circuit_breaker, filters)
     SELECT substr(id, 1, 24) || lpad(g::text, 5, '0'), application_id, name || '-' || g, $1 || g, event_types,
       headers, secret, signature_header, timeout_ms, enabled, retry_config, circuit_breaker, filters
     FROM endpoints, generate_series(1, $2::int - 1) g WHERE id = $3`,
    [`${receiverUrl}/${prefix}/`, n, (made.body as { id: string }).id],
  );
}
