import type { RetentionCounts } from '../../workflows/contract.js';

/** Pure, for the retention workflow and its activity alike. */
export const noRows = (): RetentionCounts => ({ events: 0, deliveries: 0, attempts: 0, deadLetters: 0 });

export const addCounts = (a: RetentionCounts, b: RetentionCounts): RetentionCounts => ({
  events: a.events + b.events,
  deliveries: a.deliveries + b.deliveries,
  attempts: a.attempts + b.attempts,
  deadLetters: a.deadLetters + b.deadLetters,
});
