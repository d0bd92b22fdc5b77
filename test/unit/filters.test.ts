import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluateCondition,
  filterProblems,
  interpolate,
  matchesFilter,
  unsafeRegexReason,
  valueAt,
  type Condition,
} from '../../src/domain/filters.js';

const event = {
  type: 'order.created',
  source: 'shop',
  tags: ['urgent', 'vip'],
  payload: {
    order: {
      id: 'ORD-123',
      amount: 299.99,
      currency: 'USD',
      items: [{ sku: 'A' }],
      customer: { tier: 'premium', country: 'KR', limit: 500 },
      note: null,
    },
  },
};

const check = (operator: Condition['operator'], field: string, value?: unknown) =>
  evaluateCondition({ field, operator, value }, event);

describe('filter conditions', () => {
  it('reads dotted paths, array indexes, and nothing from missing or primitive steps', () => {
    assert.equal(valueAt(event, 'payload.order.customer.tier'), 'premium');
    assert.equal(valueAt(event, 'payload.order.items.0.sku'), 'A');
    assert.equal(valueAt(event, 'payload.order.missing.deeper'), undefined);
    assert.equal(valueAt(event, 'payload.order.amount.x'), undefined);
    assert.equal(valueAt(event, 'payload.__proto__'), undefined);
  });

  it('eq and ne compare values exactly, objects deeply', () => {
    assert.equal(check('eq', 'payload.order.currency', 'USD'), true);
    assert.equal(check('eq', 'payload.order.amount', '299.99'), false, 'no type coercion');
    assert.equal(check('eq', 'payload.order.items', [{ sku: 'A' }]), true);
    assert.equal(check('ne', 'payload.order.currency', 'EUR'), true);
    assert.equal(check('ne', 'payload.order.currency', 'USD'), false);
  });

  it('gt, gte, lt, lte compare numbers with numbers and strings with strings only', () => {
    assert.equal(check('gt', 'payload.order.amount', 100), true);
    assert.equal(check('gt', 'payload.order.amount', 299.99), false);
    assert.equal(check('gte', 'payload.order.amount', 299.99), true);
    assert.equal(check('lt', 'payload.order.amount', 300), true);
    assert.equal(check('lte', 'payload.order.amount', 299.98), false);
    assert.equal(check('gt', 'payload.order.id', 'ORD-100'), true);
    assert.equal(check('gt', 'payload.order.amount', '100'), false, 'number against string is a mismatch');
    assert.equal(check('lt', 'payload.order.currency', 5), false);
  });

  it('in and nin test membership', () => {
    assert.equal(check('in', 'payload.order.customer.tier', ['premium', 'gold']), true);
    assert.equal(check('in', 'payload.order.customer.tier', ['basic']), false);
    assert.equal(check('nin', 'payload.order.customer.tier', ['basic']), true);
    assert.equal(check('nin', 'payload.order.customer.tier', ['premium']), false);
  });

  it('contains finds substrings in strings and elements in arrays', () => {
    assert.equal(check('contains', 'payload.order.id', 'ORD'), true);
    assert.equal(check('contains', 'tags', 'vip'), true);
    assert.equal(check('contains', 'tags', 'cheap'), false);
    assert.equal(check('contains', 'payload.order.amount', '9'), false, 'not on numbers');
  });

  it('regex matches strings only', () => {
    assert.equal(check('regex', 'payload.order.id', '^ORD-\\d+$'), true);
    assert.equal(check('regex', 'payload.order.id', '^INV-'), false);
    assert.equal(check('regex', 'payload.order.amount', '^2'), false);
  });

  it('exists is false for missing and null fields, and exists:false inverts it', () => {
    assert.equal(check('exists', 'payload.order.id'), true);
    assert.equal(check('exists', 'payload.order.note'), false);
    assert.equal(check('exists', 'payload.order.nope'), false);
    assert.equal(check('exists', 'payload.order.nope', false), true);
  });

  it('treats a missing field as false for every operator except ne, nin and exists:false', () => {
    const field = 'payload.order.absent';
    for (const op of ['eq', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'regex'] as const) {
      assert.equal(check(op, field, op === 'in' ? ['x'] : 'x'), false, op);
    }
    assert.equal(check('ne', field, 'x'), true);
    assert.equal(check('nin', field, ['x']), true);
  });

  it('interpolates ${path} values from the event', () => {
    assert.equal(interpolate('${payload.order.currency}', event), 'USD');
    assert.equal(interpolate('plain ${x}', event), 'plain ${x}');
    assert.equal(check('lt', 'payload.order.amount', '${payload.order.customer.limit}'), true);
    assert.equal(check('in', 'payload.order.currency', ['${payload.order.currency}', 'EUR']), true);
  });
});

describe('filter groups', () => {
  const amount = { field: 'payload.order.amount', operator: 'gt', value: 100 } as const;
  const korea = { field: 'payload.order.customer.country', operator: 'eq', value: 'KR' } as const;
  const japan = { field: 'payload.order.customer.country', operator: 'eq', value: 'JP' } as const;

  it('passes everything without conditions', () => {
    assert.equal(matchesFilter(undefined, event), true);
    assert.equal(matchesFilter({ conditions: [] }, event), true);
  });

  it('uses AND by default and OR when asked', () => {
    assert.equal(matchesFilter({ conditions: [amount, korea] }, event), true);
    assert.equal(matchesFilter({ conditions: [amount, japan] }, event), false);
    assert.equal(matchesFilter({ logic: 'OR', conditions: [japan, korea] }, event), true);
    assert.equal(matchesFilter({ logic: 'OR', conditions: [japan] }, event), false);
  });

  it('nests groups', () => {
    const filter = {
      logic: 'AND' as const,
      conditions: [amount, { logic: 'OR' as const, conditions: [japan, korea] }],
    };
    assert.equal(matchesFilter(filter, event), true);
    assert.equal(matchesFilter({ conditions: [amount, { logic: 'OR', conditions: [japan] }] }, event), false);
  });

  it("matches the guide's own example", () => {
    const guide = {
      logic: 'AND' as const,
      conditions: [
        { field: 'payload.order.amount', operator: 'gt' as const, value: 100 },
        { field: 'payload.order.customer.tier', operator: 'in' as const, value: ['premium', 'gold'] },
        { field: 'payload.order.customer.country', operator: 'eq' as const, value: 'KR' },
      ],
    };
    assert.equal(matchesFilter(guide, event), true);
  });
});

describe('filter validation at save time', () => {
  it('refuses regexes that are too long or not RE2 (backreferences, lookaround)', () => {
    assert.equal(unsafeRegexReason('^ORD-\\d+$'), null);
    assert.match(unsafeRegexReason('a'.repeat(201))!, /longer/);
    assert.match(unsafeRegexReason('(a)\\1')!, /not a supported/);
    assert.match(unsafeRegexReason('(?=a)b')!, /not a supported/);
    assert.match(unsafeRegexReason('([')!, /not a supported/);
  });

  it('matches a pattern that backtracks catastrophically in JavaScript in linear time', () => {
    const started = performance.now();
    const evil = { s: 'a'.repeat(4000) + '!' };
    assert.equal(evaluateCondition({ field: 's', operator: 'regex', value: '^(a+)+$' }, evil), false);
    assert.ok(performance.now() - started < 1000);
  });

  it('judges the whole value with a regex, not only its first 4 KiB', () => {
    const late = { s: 'x'.repeat(5000) + ' urgent' };
    assert.equal(evaluateCondition({ field: 's', operator: 'regex', value: 'urgent' }, late), true);
    const spoiled = { s: 'a'.repeat(4100) + 'b urgent' };
    assert.equal(evaluateCondition({ field: 's', operator: 'regex', value: '^a*$' }, spoiled), false);
    assert.equal(evaluateCondition({ field: 's', operator: 'regex', value: 'b urgent$' }, spoiled), true);
  });

  it('runs a regex over a value of the largest payload (256 KiB) in linear time', () => {
    const started = performance.now();
    const big = { s: 'a'.repeat(256 * 1024) + '!' };
    assert.equal(evaluateCondition({ field: 's', operator: 'regex', value: '^(a+)+$' }, big), false);
    assert.equal(evaluateCondition({ field: 's', operator: 'regex', value: '!$' }, big), true);
    assert.ok(performance.now() - started < 5000);
  });

  it('reports shape problems beside meaning problems', () => {
    const problems = filterProblems({
      logic: 'XOR',
      conditions: [{ field: '', operator: 'like' }, 5],
      extra: 1,
    });
    assert.deepEqual(problems.map(([path]) => path.join('.')).sort(), [
      'conditions.0.field',
      'conditions.0.operator',
      'conditions.1',
      'extra',
      'logic',
    ]);
    assert.deepEqual(filterProblems('x'), [[[], 'must be an object with conditions']]);
  });

  it('lists every problem with its path', () => {
    const problems = filterProblems({
      conditions: [
        { field: 'a', operator: 'in', value: 'x' },
        { field: 'b', operator: 'regex', value: '(x)\\1' },
        { logic: 'OR', conditions: [{ field: 'c', operator: 'gt', value: [1] }] },
        { field: 'd', operator: 'exists', value: 'yes' },
        { field: 'e', operator: 'eq' },
      ],
    });
    assert.deepEqual(
      problems.map(([path]) => path.join('.')),
      [
        'conditions.0.value',
        'conditions.1.value',
        'conditions.2.conditions.0.value',
        'conditions.3.value',
        'conditions.4.value',
      ],
    );
  });
});
