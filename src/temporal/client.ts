import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions, type TemporalSecurity } from './connection.js';

export async function connectClient(
  address: string,
  namespace: string,
  security?: TemporalSecurity,
): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(security, address, namespace));
  return new Client({ connection, namespace });
}
