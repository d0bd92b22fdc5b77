import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupCommit } from '../../src/ingest/group-commit.js';

describe('group commit', () => {
  it('commits an item alone at once, and items that arrive during a commit together in the next', async () => {
    const groups: number[][] = [];
    const submit = groupCommit(async (items: readonly number[]) => {
      groups.push([...items]);
      await new Promise((r) => setTimeout(r, 20));
      return items.map((n) => n * 10);
    });
    const results = await Promise.all([1, 2, 3, 4].map(submit));
    assert.deepEqual(results, [10, 20, 30, 40]);
    assert.deepEqual(groups, [[1], [2, 3, 4]]);
  });

  it("fails a group and every item waiting behind it at once when the failure is not an item's", async () => {
    let calls = 0;
    const submit = groupCommit(
      async (_items: readonly number[]) => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('database down');
      },
      { itemError: () => false },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map(submit));
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(calls, 1, 'the items waiting behind the failed commit did not try again');
  });

  it("answers each item of a failed group on its own, so one item's failure is that item's alone", async () => {
    const submit = groupCommit(async (items: readonly number[]) => {
      if (items.includes(13)) throw new Error('unlucky');
      return items.map((n) => n + 1);
    });
    const first = submit(1); // commits alone; the others wait for it, then form one group
    const results = await Promise.allSettled([first, submit(12), submit(13), submit(14)]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [2, 13, 'unlucky', 15],
    );
  });
});
