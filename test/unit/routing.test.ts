import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isValidEventPattern,
  isValidEventType,
  matchesEventType,
  patternsMatching,
  subscribes,
} from '../../src/domain/routing.js';

describe('event-type routing', () => {
  it('matches an exact type only to itself', () => {
    assert.equal(matchesEventType('order.created', 'order.created'), true);
    assert.equal(matchesEventType('order.created', 'order.updated'), false);
    assert.equal(matchesEventType('order.created', 'order.created.v2'), false);
  });

  it('matches * to every type', () => {
    assert.equal(matchesEventType('*', 'order.created'), true);
    assert.equal(matchesEventType('*', 'x'), true);
  });

  it('matches a prefix wildcard to types under the prefix, not to the prefix itself or look-alikes', () => {
    assert.equal(matchesEventType('order.*', 'order.created'), true);
    assert.equal(matchesEventType('order.*', 'order.item.added'), true);
    assert.equal(matchesEventType('order.*', 'order'), false);
    assert.equal(matchesEventType('order.*', 'orders.created'), false);
  });

  it('subscribes when any pattern matches', () => {
    assert.equal(subscribes(['user.*', 'order.created'], 'order.created'), true);
    assert.equal(subscribes(['user.*'], 'order.created'), false);
    assert.equal(subscribes([], 'order.created'), false);
  });

  it('lists exactly the patterns that match a type (what PostgreSQL picks endpoints by)', () => {
    assert.deepEqual(patternsMatching('a.b.c'), ['*', 'a.b.c', 'a.*', 'a.b.*']);
    assert.deepEqual(patternsMatching('order'), ['*', 'order']);
    const types = ['a', 'a.b', 'a.b.c', 'a.bc', 'ab.c', 'order.created', 'order.created.v2', 'x:y.z-1'];
    const patterns = [
      '*',
      ...types,
      ...types.map((t) => `${t}.*`),
      'a.b.c.*',
      'order.*',
      'ord.*',
      'order.created.*',
    ];
    for (const t of types) {
      for (const p of patterns) {
        assert.equal(patternsMatching(t).includes(p), matchesEventType(p, t), `${p} for ${t}`);
      }
    }
  });

  it('accepts dotted event types and patterns and refuses malformed ones', () => {
    for (const ok of ['order.created', 'a', 'invoice:paid', 'order.item_added'])
      assert.equal(isValidEventType(ok), true, ok);
    for (const bad of ['', '.order', 'order.', 'order..created', 'order created', 'order.*', '*']) {
      assert.equal(isValidEventType(bad), false, bad);
    }
    for (const ok of ['*', 'order.*', 'order.created']) assert.equal(isValidEventPattern(ok), true, ok);
    for (const bad of ['order*', '*.created', 'order.*.x', '**'])
      assert.equal(isValidEventPattern(bad), false, bad);
  });
});
