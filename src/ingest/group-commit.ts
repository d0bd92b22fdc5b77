/**
 * Group commit: items submitted while `lanes` commits run wait and go into the next one together,
 * so under load many requests share one statement and one round trip, and at low load an item is
 * committed at once (no timer, no added latency). A group that fails because of one of its items
 * (`itemError`) is committed again item by item, so that failure is that item's alone; any other
 * failure (the database is down or frozen) fails the group and every item waiting behind it at
 * once, so no caller waits for a second timeout.
 */
export function groupCommit<T, R>(
  commit: (items: readonly T[]) => Promise<R[]>,
  {
    lanes = 1,
    maxGroup = 500,
    itemError = () => true,
  }: { lanes?: number; maxGroup?: number; itemError?: (err: unknown) => boolean } = {},
): (item: T) => Promise<R> {
  const waiting: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let running = 0;

  async function run(): Promise<void> {
    running++;
    while (waiting.length) {
      const group = waiting.splice(0, maxGroup);
      try {
        const results = await commit(group.map((g) => g.item));
        group.forEach((g, i) => g.resolve(results[i]!));
      } catch (err) {
        if (!itemError(err)) {
          for (const g of [...group, ...waiting.splice(0)]) g.reject(err);
        } else if (group.length === 1) group[0]!.reject(err);
        else await Promise.all(group.map((g) => commit([g.item]).then(([r]) => g.resolve(r!), g.reject)));
      }
    }
    running--;
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (running < lanes) void run();
    });
}
