import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Db } from '../../src/db/pool.js';
import { endpointWorkflowId } from '../../src/domain/ids.js';
import { createEndpointService } from '../../src/endpoints/service.js';

/**
 * A stand-in for PostgreSQL's `endpoints` table: INSERT … RETURNING stores the row, SELECT by id
 * reads it, UPDATE applies its `column = $n` assignments. Enough for the service's own logic.
 */
function endpointsTable() {
  const rows = new Map<string, Record<string, unknown>>();
  const statements: string[] = [];
  const db = {
    async query(sql: string, params: unknown[] = []) {
      statements.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
      const [id, applicationId] = params as [string, string];
      const mine = () => {
        const row = rows.get(id);
        return row && row.application_id === applicationId ? row : undefined;
      };
      if (sql.startsWith('INSERT INTO endpoints')) {
        const columns = /\(([^)]*)\)/
          .exec(sql)![1]!
          .split(',')
          .map((c) => c.trim());
        const row: Record<string, unknown> = {
          previous_secrets: [],
          disabled_reason: null,
          created_at: new Date(),
          updated_at: new Date(),
        };
        columns.forEach((c, i) => {
          const value = params[i];
          row[c] = typeof value === 'string' && /^[[{]/.test(value) ? JSON.parse(value) : value;
        });
        rows.set(id, row);
        return { rows: [row], rowCount: 1 };
      }
      if (sql.startsWith('SELECT * FROM endpoints WHERE id = $1')) {
        const row = mine();
        return { rows: row ? [row] : [], rowCount: row ? 1 : 0 };
      }
      if (sql.startsWith('UPDATE endpoints SET')) {
        const row = mine();
        if (!row) return { rows: [], rowCount: 0 };
        for (const [, column, n] of sql.matchAll(/(\w+) = \$(\d+)/g)) row[column!] = params[Number(n) - 1];
        return { rows: [row], rowCount: 1 };
      }
      throw new Error(`unexpected statement: ${sql}`);
    },
  };
  return { db: db as unknown as Db, statements };
}

/** A Temporal client whose workflow handles record the signals sent to them. */
function signalRecorder() {
  const signals: Array<{ workflowId: string; signal: string }> = [];
  const temporal = {
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async (def: { name: string }) => void signals.push({ workflowId, signal: def.name }),
      }),
    },
  };
  return { temporal: temporal as unknown as Client, signals };
}

/** The service over both stand-ins, with one endpoint of app_1. */
async function withOneEndpoint() {
  const { db, statements } = endpointsTable();
  const { temporal, signals } = signalRecorder();
  const endpoints = createEndpointService({ db, temporal });
  const { id } = await endpoints.create('app_1', { name: 'a', url: 'https://example.com/a', events: ['*'] });
  return { endpoints, signals, statements, id };
}

describe('endpoint service (without HTTP)', () => {
  it('creates an endpoint with a generated secret, each event type once, and enabled', async () => {
    const { db } = endpointsTable();
    const { temporal } = signalRecorder();
    const endpoints = createEndpointService({ db, temporal });
    const created = await endpoints.create('app_1', {
      name: 'orders',
      url: 'https://example.com/hook',
      events: ['order.created', 'order.paid', 'order.created'],
    });
    assert.match(created.id, /^ep_/);
    assert.deepEqual(created.events, ['order.created', 'order.paid']);
    assert.match(created.secret, /^whsec_/);
    assert.equal(created.enabled, true);
    assert.deepEqual(created.headers, {});
    assert.equal(created.timeoutMs, null);
    assert.deepEqual(await endpoints.get('app_1', created.id), created);
    assert.equal(await endpoints.get('app_2', created.id), undefined, "another application's endpoint");
  });

  it('retires the breaker of an endpoint that a change disables, and of no other', async () => {
    const { endpoints, signals, id } = await withOneEndpoint();

    const renamed = await endpoints.update('app_1', id, { name: 'b', events: ['x', 'x'] });
    assert.equal(renamed?.name, 'b');
    assert.deepEqual(renamed?.events, ['x']);
    assert.deepEqual(signals, []);

    const disabled = await endpoints.update('app_1', id, { enabled: false });
    assert.equal(disabled?.enabled, false);
    assert.deepEqual(signals, [{ workflowId: endpointWorkflowId(id), signal: 'endpointWorkflow.retire' }]);
  });

  it('changes nothing for an endpoint the application does not have', async () => {
    const { endpoints, signals, statements, id } = await withOneEndpoint();
    statements.length = 0;

    assert.equal(await endpoints.update('app_2', id, { enabled: false }), undefined);
    assert.equal(await endpoints.stats('app_2', id), undefined);
    assert.equal(await endpoints.circuit('app_2', id), undefined);
    assert.deepEqual(signals, []);
    assert.ok(
      statements.every((s) => s.startsWith('SELECT')),
      `only reads: ${statements.join('; ')}`,
    );
  });
});
