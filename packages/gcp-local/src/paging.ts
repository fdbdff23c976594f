import { invalidArgument } from "./grpc-error.js";

/**
 * One page of a list answer: `pageSize` items (all when 0 or absent, up to `max`) from the offset the
 * `pageToken` carries, and the token of the next page ("" on the last).
 */
export function page<T>(items: T[], request: { pageSize?: number; pageToken?: string }, max = 1000): { items: T[]; nextPageToken: string } {
  const offset = request.pageToken ? Number.parseInt(Buffer.from(request.pageToken, "base64url").toString("utf8"), 10) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalidArgument("page_token: use the next_page_token of the previous answer.");
  const size = Math.min(Number(request.pageSize ?? 0) > 0 ? Number(request.pageSize) : max, max);
  const next = offset + size;
  return { items: items.slice(offset, next), nextPageToken: next < items.length ? Buffer.from(String(next)).toString("base64url") : "" };
}
