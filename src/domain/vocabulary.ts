/**
 * The lists that the API, the workflows and the dashboard must agree on, in one place. Pure and
 * import-free: the dashboard loads this file compiled (`/dashboard/vocabulary.js`).
 */

export const RETRY_STRATEGIES = ['exponential', 'linear', 'fixed', 'custom'] as const;
export type RetryStrategy = (typeof RETRY_STRATEGIES)[number];

export const FILTER_OPERATORS = [
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'nin',
  'contains',
  'regex',
  'exists',
] as const;
export type Operator = (typeof FILTER_OPERATORS)[number];

/**
 * An event's life: `accepted` (committed, no workflow yet), `dispatched` (its workflow exists),
 * `routing` (matching endpoints), `delivering` (deliveries pending or under way), then its
 * outcome. `replaying` while an event replay runs. Derived in PostgreSQL from the deliveries
 * (migration 007), so it is true however a delivery ended.
 */
export const EVENT_STATUSES = [
  'accepted',
  'dispatched',
  'routing',
  'delivering',
  'replaying',
  'delivered',
  'partially_failed',
  'failed',
  'no_match',
] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** Statuses with an outcome recorded: the event's workflow is closing or closed. */
export const FINAL_EVENT_STATUSES: ReadonlySet<EventStatus> = new Set<EventStatus>([
  'delivered',
  'partially_failed',
  'failed',
  'no_match',
]);

/** `throttled`: waiting (durably) for its slot under the endpoint's rateLimit; no attempt spent. */
export const DELIVERY_STATUSES = [
  'pending',
  'retrying',
  'waiting_circuit',
  'throttled',
  'delivered',
  'failed',
  'dead_lettered',
  'terminated',
  'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
