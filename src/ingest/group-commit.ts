/**
 * Group commit: items submitted while `lanes` commits run wait and go into the next one together,
 * so under load many requests share one statement and one round trip, and at low load an item is
 * committed at once (no timer, no added latency). A group that fails is committed again item by
 * item, so one item's failure is that item's alone.
 */
export function groupCommit<T, R>(
  commit: (items: readonly T[]) => Promise<R[]>,
  { lanes = 1, maxGroup = 500 }: { lanes?: number; maxGroup?: number } = {},
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
        if (group.length === 1) group[0]!.reject(err);
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
