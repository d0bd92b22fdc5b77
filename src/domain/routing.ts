/**
 * Event-type routing. An endpoint subscribes to patterns: an exact type (`order.created`), a
 * prefix wildcard (`order.*`, any type under `order.`), or `*` (every type).
 * Pure: bundled into workflow code as well as used by the API.
 */

export function matchesEventType(pattern: string, eventType: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return eventType.startsWith(pattern.slice(0, -1));
  return pattern === eventType;
}

export function subscribes(patterns: readonly string[], eventType: string): boolean {
  return patterns.some((p) => matchesEventType(p, eventType));
}

/**
 * Every pattern that matches `eventType`: `*`, the type itself and a wildcard under each of its
 * proper prefixes (`a.b.c` → `*`, `a.b.c`, `a.*`, `a.b.*`). An endpoint subscribes exactly when
 * its patterns overlap these, which lets PostgreSQL pick the subscribed endpoints (`&&`) instead
 * of Node reading every endpoint of the application.
 */
export function patternsMatching(eventType: string): string[] {
  const segments = eventType.split('.');
  const wildcards = segments.slice(0, -1).map((_, i) => `${segments.slice(0, i + 1).join('.')}.*`);
  return ['*', eventType, ...wildcards];
}

/** Letters, digits, `_`, `-`, `:` in dot-separated segments; optionally ending in `.*`; or `*`. */
const SEGMENTS = '[A-Za-z0-9_:-]+(\\.[A-Za-z0-9_:-]+)*';
const EVENT_TYPE = new RegExp(`^${SEGMENTS}$`);

/** The same rules as JSON Schema patterns, for the OpenAPI document (the API's fuzz reads them). */
export const EVENT_TYPE_PATTERN = `^${SEGMENTS}$`;
export const EVENT_PATTERN_PATTERN = `^(\\*|${SEGMENTS}(\\.\\*)?)$`;

export function isValidEventType(type: string): boolean {
  return type.length <= 200 && EVENT_TYPE.test(type);
}

export function isValidEventPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  return isValidEventType(pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern);
}
