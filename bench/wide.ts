// The benchmark's wide fan-out (#18): one event to N endpoints (1,000 and 10,000), its delivery
// rate, the event workflow's chain of runs (history length and size of each), and how long a small
// event sent half-way waits behind it.
import { cloneEndpoints } from '../test/helpers/endpoints.js';
import type { Receiver } from '../test/helpers/receiver.js';
import { api, type TestStack } from '../test/helpers/stack.js';

export interface WideReport {
  endpoints: number;
  seconds: number;
  deliveriesPerSecond: number;
  runs: number;
  maxHistoryLength: number;
  maxHistorySizeBytes: number;
  totalHistoryLength: number;
  /** A one-endpoint event sent when half the wide event's deliveries had arrived: 202 → arrival. */
  smallEventMs: number;
  /** Endpoints reached, and requests beyond one per endpoint (0: each exactly once). */
  distinct: number;
  duplicates: number;
}

export async function measureWide(
  stack: TestStack,
  receiver: Receiver,
  n: number,
  log: (line: string) => void,
): Promise<WideReport> {
  const prefix = `wide${n}`;
  await cloneEndpoints(stack, receiver.url, `${prefix}.x`, n, prefix);
  await cloneEndpoints(stack, receiver.url, `${prefix}small.x`, 1, `${prefix}small`);
  const arrived = () => receiver.received.filter((r) => r.path.startsWith(`/${prefix}/`)).length;
  const started = Date.now();
  const sent = await api(stack, 'POST', '/api/events', { type: `${prefix}.x`, payload: { n } });
  const eventId = sent.body.eventId as string;
  let smallEventMs = -1;
  let smallSentAt = 0;
  for (;;) {
    const got = arrived();
    if (!smallSentAt && got >= n / 2) {
      smallSentAt = Date.now();
      await api(stack, 'POST', '/api/events', { type: `${prefix}small.x`, payload: {} });
    }
    if (smallSentAt && smallEventMs < 0) {
      const small = receiver.received.find((r) => r.path === `/${prefix}small/0`);
      if (small) smallEventMs = small.at - smallSentAt;
    }
    if (got >= n && smallEventMs >= 0) break;
    if (Date.now() - started > 60 * 60_000) throw new Error(`wide ${n}: ${got}/${n} after an hour`);
    log(`wide ${n}: ${got}/${n}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  const seconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 2000)); // late duplicates, if any, count
  const paths = receiver.received.filter((r) => r.path.startsWith(`/${prefix}/`)).map((r) => r.path);
  const distinct = new Set(paths).size;
  const temporal = stack.platform.temporal;
  const runs: Array<{ length: number; size: number }> = [];
  for await (const w of temporal.workflow.list({ query: `WorkflowId = "event:${eventId}"` })) {
    const d = await temporal.workflow.getHandle(w.workflowId, w.runId).describe();
    runs.push({ length: d.historyLength, size: Number(d.raw.workflowExecutionInfo?.historySizeBytes ?? 0) });
  }
  return {
    endpoints: n,
    seconds,
    deliveriesPerSecond: n / seconds,
    runs: runs.length,
    maxHistoryLength: Math.max(...runs.map((r) => r.length)),
    maxHistorySizeBytes: Math.max(...runs.map((r) => r.size)),
    totalHistoryLength: runs.reduce((a, r) => a + r.length, 0),
    smallEventMs,
    distinct,
    duplicates: paths.length - distinct,
  };
}
