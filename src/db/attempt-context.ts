import type { FieldDef } from 'pg';
import { circuitFromRow, type CircuitRow } from './circuits.js';
import type { CircuitMirror } from './circuits.js';
import { endpointFromRow, type Endpoint, type EndpointRow } from './endpoints.js';
import { eventFromRow, type EventRow, type StoredEvent } from './events.js';
import type { Db } from './pool.js';

export interface AttemptContext {
  /** Absent: the event no longer exists (its application was deleted, or retention removed it). */
  event?: StoredEvent;
  endpoint?: Endpoint;
  circuit?: CircuitMirror;
}

/**
 * What a delivery attempt reads, in one statement instead of three: the event (in its
 * application), the endpoint and the endpoint's circuit mirror. The columns of each table are told
 * apart by the table they come from (the field's table OID), so each keeps its type and its row
 * mapper, whatever columns a migration adds.
 */
export async function loadAttemptContext(
  db: Db,
  ref: { eventId: string; applicationId: string; endpointId: string },
): Promise<AttemptContext> {
  const res = await db.query<unknown[]>({
    text: `SELECT e.*, ep.*, c.* FROM events e
             LEFT JOIN endpoints ep ON ep.id = $2 AND ep.application_id = $3
             LEFT JOIN endpoint_circuits c ON c.endpoint_id = $2
            WHERE e.id = $1 AND e.application_id = $3`,
    values: [ref.eventId, ref.endpointId, ref.applicationId],
    rowMode: 'array',
  });
  const row = res.rows[0];
  if (!row) return {};
  const [event, endpoint, circuit] = byTable(res.fields, row);
  if (!event || !endpoint || !circuit)
    throw new Error('the attempt context came back without its three tables');
  return {
    event: eventFromRow(event as unknown as EventRow),
    ...(endpoint.id !== null ? { endpoint: endpointFromRow(endpoint as unknown as EndpointRow) } : {}),
    ...(circuit.endpoint_id !== null ? { circuit: circuitFromRow(circuit as unknown as CircuitRow) } : {}),
  };
}

/** The row's values as one object per table, in the order of the select list. */
function byTable(fields: FieldDef[], row: unknown[]): Array<Record<string, unknown>> {
  const parts: Array<Record<string, unknown>> = [];
  let table: number | undefined;
  fields.forEach((f, i) => {
    if (f.tableID !== table) {
      parts.push({});
      table = f.tableID;
    }
    parts[parts.length - 1]![f.name] = row[i];
  });
  return parts;
}
