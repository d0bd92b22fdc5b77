import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BURST_PER_SECOND, createDispatcher, lastSecondCounter } from '../../src/ingest/dispatcher.js';

describe('the dispatcher yields to a burst of intake', () => {
  it('counts the last second only, in 100 ms steps', () => {
    let now = 10_000;
    const c = lastSecondCounter(() => now);
    c.add(5);
    now += 450;
    c.add(7);
    assert.equal(c.total(), 12);
    now += 600; // the first 5 are 1,050 ms old
    assert.equal(c.total(), 7);
    now += 5_000; // a long quiet spell clears everything
    assert.equal(c.total(), 0);
    c.add(1);
    assert.equal(c.total(), 1);
  });

  it('stops immediate starts while more than BURST_PER_SECOND events a second are accepted here, and starts them again after', () => {
    const dispatcher = createDispatcher({
      db: {} as never,
      temporal: {} as never,
      taskQueue: 'q',
      log: { info() {}, warn() {} } as never,
    });
    assert.equal(dispatcher.hasRoom(), true);
    dispatcher.accepted(BURST_PER_SECOND);
    assert.equal(dispatcher.inBurst(), false, 'at the threshold: not yet a burst');
    dispatcher.accepted(1);
    assert.equal(dispatcher.inBurst(), true);
    assert.equal(dispatcher.hasRoom(), false, 'accepted events wait for the sweep');
  });
});
