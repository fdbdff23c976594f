import { collectPage, decodeCursor, encodeCursor, type ListQuery, type ListTotal, type Page } from "@ferry/core";

/** The default page size of every list, as the route table documents it. */
export const DEFAULT_PAGE_ITEMS = 100;

/**
 * One page of a list answered from the store: the rows after the cursor's key in the list's order,
 * `next_cursor` holding the last row's key when more follow, and the total only when asked (it costs
 * a count; the default path makes none). A cursor is opaque to clients but names its keys, so one of
 * another list, or a damaged one, is refused with a 400.
 */
export async function listPage<R, T, C extends string>(options: {
  query: ListQuery;
  /** The keys of the list's order, which a cursor carries. */
  keys: readonly C[];
  keyOf(row: R): Record<C, string>;
  /** Up to `n` rows after the row with this key (from the first without one), in the list's order. */
  fetch(after: Record<C, string> | undefined, n: number): Promise<R[]>;
  toItem(row: R): T;
  total(): Promise<ListTotal>;
}): Promise<Page<T>> {
  const cursor = options.query.cursor ? decodeCursor(options.query.cursor, options.keys) : undefined;
  const [page, total] = await Promise.all([
    collectPage({
      limit: options.query.limit ?? DEFAULT_PAGE_ITEMS,
      fetch: (row: R | undefined, n) => options.fetch(row ? options.keyOf(row) : cursor, n),
      toItem: options.toItem,
    }),
    options.query.include_total ? options.total() : undefined,
  ]);
  return {
    items: page.items,
    next_cursor: page.more && page.last ? encodeCursor(options.keyOf(page.last)) : null,
    ...total,
  };
}
