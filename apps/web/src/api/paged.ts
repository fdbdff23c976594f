import { keepPreviousData, useInfiniteQuery, type QueryKey } from "@tanstack/react-query";
import type { ListTotal, Page } from "@ferry/core/browser";

/** Items per page of the UI's lists. */
export const PAGE_SIZE = 50;

/** What every list call of the UI takes: a page size, the cursor, and whether to count the whole list. */
export interface PageParams {
  limit: number;
  cursor?: string;
  include_total?: boolean;
}

/** The query of one page: the first asks for the total, the next ones carry the cursor only. */
export function pageParams(cursor: string | undefined): PageParams {
  return cursor ? { limit: PAGE_SIZE, cursor } : { limit: PAGE_SIZE, include_total: true };
}

/** The total the first page brought, if the server gave one. */
export function totalOf(pages: readonly Page<unknown>[] | undefined): ListTotal | undefined {
  const first = pages?.[0];
  return first?.total === undefined ? undefined : { total: first.total, total_is_estimate: first.total_is_estimate ?? false };
}

/**
 * A list paged by the API's cursor: the first page, then more with "Load more". `items` is every page
 * loaded so far, `total` the whole list's size when the server counted it.
 */
export function usePagedList<T>(queryKey: QueryKey, fetchPage: (params: PageParams) => Promise<Page<T>>) {
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParams(pageParam)),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // A new search keeps the rows shown until its answer comes, instead of flashing "Loading".
    placeholderData: keepPreviousData,
  });
  return { query, items: query.data?.pages.flatMap((p) => p.items), total: totalOf(query.data?.pages) };
}
