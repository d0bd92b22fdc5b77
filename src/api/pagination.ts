/**
 * Keyset pages: the query asks for one row more than the page holds; when it comes back, the
 * last id of the page is the cursor of the next one.
 */
export async function keysetPage<T extends { id: string }, V>(
  limit: number,
  fetch: (limitPlusOne: number) => Promise<T[]>,
  view: (row: T) => V,
): Promise<{ data: V[]; nextCursor: string | null }> {
  const rows = await fetch(limit + 1);
  const page = rows.slice(0, limit);
  return { data: page.map(view), nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
}
