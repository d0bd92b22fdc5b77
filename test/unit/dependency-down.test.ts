import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dependencyDown } from '../../src/api/unavailable.js';

describe('dependencyDown', () => {
  it('recognises PostgreSQL refused, dropped, timed out or shutting down', () => {
    const cases: unknown[] = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' }),
      Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {}),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('wrapped', { cause: new Error('Connection terminated') }),
    ];
    for (const err of cases) assert.equal(dependencyDown(err), 'database', String(err));
  });

  it('recognises Temporal unavailable or past its deadline', () => {
    assert.equal(dependencyDown(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })), 'temporal');
    const serviceError = Object.assign(new Error('Failed to start'), {
      name: 'ServiceError',
      cause: Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 }),
    });
    assert.equal(dependencyDown(serviceError), 'temporal');
  });

  it('leaves other errors alone (they stay 4xx or 500)', () => {
    assert.equal(dependencyDown(Object.assign(new Error('duplicate key'), { code: '23505' })), undefined);
    assert.equal(dependencyDown(new TypeError('x is undefined')), undefined);
    assert.equal(dependencyDown(undefined), undefined);
  });
});
