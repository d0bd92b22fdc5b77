import { RE2JS } from 're2js';

/**
 * Endpoint filters (the guide's operators), evaluated against the event
 * `{ type, source, payload, tags }`. Pure. Semantics for a missing field or a type mismatch:
 * the comparison is false — except `ne` and `nin`, which hold (the value is not equal / not in),
 * and `exists: false`, which holds.
 */

import { FILTER_OPERATORS as OPERATORS, type Operator } from './vocabulary.js';

export { OPERATORS, type Operator };

export interface Condition {
  field: string;
  operator: Operator;
  value?: unknown;
}

export interface FilterGroup {
  logic?: 'AND' | 'OR';
  conditions: Array<Condition | FilterGroup>;
}

export const REGEX_SOURCE_LIMIT = 200;
export const MAX_FILTER_DEPTH = 5;
export const MAX_CONDITIONS = 50;

const isGroup = (c: Condition | FilterGroup): c is FilterGroup =>
  Array.isArray((c as FilterGroup).conditions);

/** `a.b.c` into nested objects (and arrays, by index); undefined when any step is missing. */
export function valueAt(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A value of exactly `${path}` is replaced by the event's value at that path. */
export function interpolate(value: unknown, event: unknown): unknown {
  if (typeof value === 'string') {
    const m = /^\$\{([^}]+)\}$/.exec(value);
    return m ? valueAt(event, m[1]!.trim()) : value;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, event));
  return value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** Sign of a - b when both are numbers or both strings; null on a type mismatch or a missing side. */
function compare(a: unknown, b: unknown): number | null {
  if ((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return null;
}

// RE2 semantics (re2js): matching time is linear in the input, so no pattern can run away and
// a regex judges the whole value (an event's payload is at most 256 KiB).
const regexCache = new Map<string, RE2JS>();
function compiled(source: string): RE2JS {
  let re = regexCache.get(source);
  if (!re) {
    re = RE2JS.compile(source);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

export function evaluateCondition(c: Condition, event: unknown): boolean {
  const actual = valueAt(event, c.field);
  const expected = interpolate(c.value, event);
  const present = actual !== undefined && actual !== null;
  switch (c.operator) {
    case 'exists':
      return expected === false ? !present : present;
    case 'eq':
      return present && deepEqual(actual, expected);
    case 'ne':
      return !present || !deepEqual(actual, expected);
    case 'gt':
      return (compare(actual, expected) ?? -1) > 0;
    case 'gte':
      return (compare(actual, expected) ?? -1) >= 0;
    case 'lt':
      return (compare(actual, expected) ?? 1) < 0;
    case 'lte':
      return (compare(actual, expected) ?? 1) <= 0;
    case 'in':
      return present && Array.isArray(expected) && expected.some((e) => deepEqual(actual, e));
    case 'nin':
      return !present || !Array.isArray(expected) || !expected.some((e) => deepEqual(actual, e));
    case 'contains':
      if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
      if (Array.isArray(actual)) return actual.some((e) => deepEqual(e, expected));
      return false;
    case 'regex':
      return (
        typeof actual === 'string' &&
        typeof expected === 'string' &&
        compiled(expected).matcher(actual).find()
      );
  }
}

/** True when the event passes the filter group (an empty or absent filter passes everything). */
export function matchesFilter(filter: FilterGroup | null | undefined, event: unknown): boolean {
  if (!filter || filter.conditions.length === 0) return true;
  const test = (c: Condition | FilterGroup) =>
    isGroup(c) ? matchesFilter(c, event) : evaluateCondition(c, event);
  return (filter.logic ?? 'AND') === 'OR' ? filter.conditions.some(test) : filter.conditions.every(test);
}

/**
 * Why a regex is refused at save time, or null when it is accepted: too long, or not RE2 syntax
 * (backreferences and lookaround have no linear-time match, so RE2 refuses them).
 */
export function unsafeRegexReason(source: string): string | null {
  if (source.length > REGEX_SOURCE_LIMIT) return `is longer than ${REGEX_SOURCE_LIMIT} characters`;
  try {
    RE2JS.compile(source);
    return null;
  } catch (err) {
    return `is not a supported regular expression (${(err as Error).message})`;
  }
}

type Problems = Array<[string[], string]>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function conditionProblems(c: Record<string, unknown>, at: string[]): Problems {
  const problems: Problems = [];
  for (const key of Object.keys(c)) {
    if (!['field', 'operator', 'value'].includes(key))
      problems.push([[...at, key], 'is not a condition field']);
  }
  if (typeof c.field !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(c.field) || c.field.length > 200) {
    problems.push([[...at, 'field'], 'must be a dotted path such as payload.order.amount']);
  }
  const op = c.operator;
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    problems.push([[...at, 'operator'], `must be one of ${OPERATORS.join(', ')}`]);
    return problems;
  }
  const value = c.value;
  const interpolated = typeof value === 'string' && /^\$\{[^}]+\}$/.test(value);
  const bad = (message: string) => problems.push([[...at, 'value'], message]);
  if (op === 'in' || op === 'nin') {
    if (!Array.isArray(value) && !interpolated) bad(`must be an array for ${op}`);
  } else if (op === 'regex') {
    if (typeof value !== 'string') bad('must be a string for regex');
    else {
      const reason = unsafeRegexReason(value);
      if (reason) bad(reason);
    }
  } else if (op === 'exists') {
    if (value !== undefined && typeof value !== 'boolean') bad('must be true or false for exists');
  } else if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') {
    if (typeof value !== 'number' && typeof value !== 'string') bad(`must be a number or a string for ${op}`);
  } else if (value === undefined) {
    bad(`is required for ${op}`);
  }
  return problems;
}

/**
 * Every problem of a filter as [path, message] pairs, shape and meaning together (for save-time
 * validation, so a user sees them all at once). An empty list means `matchesFilter` can run it.
 */
export function filterProblems(filter: unknown, path: string[] = [], depth = 1): Problems {
  if (!isObject(filter)) return [[path, 'must be an object with conditions']];
  if (depth > MAX_FILTER_DEPTH) return [[path, `nests deeper than ${MAX_FILTER_DEPTH} groups`]];
  const problems: Problems = [];
  for (const key of Object.keys(filter)) {
    if (key !== 'logic' && key !== 'conditions') problems.push([[...path, key], 'is not a filter field']);
  }
  if (filter.logic !== undefined && filter.logic !== 'AND' && filter.logic !== 'OR') {
    problems.push([[...path, 'logic'], 'must be AND or OR']);
  }
  if (!Array.isArray(filter.conditions)) return [...problems, [[...path, 'conditions'], 'must be an array']];
  if (filter.conditions.length > MAX_CONDITIONS) {
    problems.push([[...path, 'conditions'], `has more than ${MAX_CONDITIONS} conditions`]);
  }
  filter.conditions.forEach((c: unknown, i) => {
    const at = [...path, 'conditions', String(i)];
    if (!isObject(c)) problems.push([at, 'must be a condition or a group']);
    else if ('conditions' in c) problems.push(...filterProblems(c, at, depth + 1));
    else problems.push(...conditionProblems(c, at));
  });
  return problems;
}
