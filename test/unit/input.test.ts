import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ID_SHAPES, jsonDepth, MAX_JSON_DEPTH, queryDate, text, unstorable } from '../../src/api/input.js';
import { newId } from '../../src/db/ids.js';
import { deliveryWorkflowId } from '../../src/domain/ids.js';

describe('API input rules', () => {
  it('measures the nesting of a 100,000-deep value without recursion', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    assert.equal(jsonDepth(deep, MAX_JSON_DEPTH), MAX_JSON_DEPTH + 1, 'stops one past the cap');
    assert.equal(jsonDepth({ a: [{ b: 1 }], c: 'x' }), 3);
    assert.equal(jsonDepth('scalar'), 0);
  });

  it('finds what PostgreSQL cannot store anywhere in a JSON value, and says where', () => {
    assert.equal(unstorable({ a: ['ok', { b: 1.5 }] }), undefined);
    assert.deepEqual(unstorable({ a: [{ b: 'x\u0000' }] }), {
      path: 'a.0.b',
      message: 'must not contain the NUL character (\\u0000)',
    });
    assert.equal(unstorable({ ['k\u0000']: 1 })?.path, 'k\u0000');
    assert.match(unstorable({ s: '\ud800' })!.message, /surrogate/);
    assert.equal(unstorable({ s: '\ud83d\ude00' }), undefined, 'a surrogate pair is fine');
    assert.match(unstorable({ n: JSON.parse('1e400') })!.message, /out of range/);
    const deep = JSON.parse('['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000)) as unknown;
    assert.ok(unstorable(deep), 'no stack overflow on deep values');
  });

  it('holds strings to a length cap, without NUL or lone surrogates', () => {
    const t = text(5);
    assert.equal(t.safeParse('abcde').success, true);
    assert.equal(t.safeParse('abcdef').success, false);
    assert.equal(t.safeParse('a\u0000').success, false);
    assert.equal(t.safeParse('a\udc00').success, false);
  });

  it('takes query dates from 1970 to 9999 only', () => {
    assert.equal(queryDate.parse('2026-01-31T12:00:00Z').toISOString(), '2026-01-31T12:00:00.000Z');
    for (const bad of ['-271821-04-20', '+275760-09-13', '0001-01-01', 'soon', ''])
      assert.equal(queryDate.safeParse(bad).success, false, bad);
  });

  it('knows the shape of every id Hookline makes', () => {
    const event = newId('evt');
    const endpoint = newId('ep');
    assert.match(event, ID_SHAPES.event);
    assert.match(endpoint, ID_SHAPES.endpoint);
    assert.match(newId('dl'), ID_SHAPES.deadLetter);
    assert.match(deliveryWorkflowId(event, endpoint), ID_SHAPES.delivery);
    assert.match(newId('app'), ID_SHAPES.admin);
    assert.match('default', ID_SHAPES.admin);
    assert.doesNotMatch(`${event}\u0000`, ID_SHAPES.event);
    assert.doesNotMatch(endpoint, ID_SHAPES.event);
  });
});
