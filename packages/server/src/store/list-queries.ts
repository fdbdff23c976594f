import { LIST_TOTAL_EXACT_MAX, type ListTotal } from "@ferry/core";
import type { SqlExecutor } from "./driver.js";

/**
 * A list's rows as SQL: `from` and `where` (joined by AND) with their parameters. A page and the
 * list's total read the same rows, so they are built once.
 */
export interface ListSql {
  from: string;
  where: string[];
  values: unknown[];
}

/**
 * How many rows the list has: counted exactly up to LIST_TOTAL_EXACT_MAX (the count stops there, so it
 * reads at most that many index entries), else the planner's estimate for the same query, marked as one.
 * The planner's row estimate of an unfiltered table is reltuples scaled to the table's current size;
 * of a filtered one, what its statistics say of the filters. Either is at least the rows counted.
 */
export async function listTotal(db: SqlExecutor, list: ListSql): Promise<ListTotal> {
  const select = `SELECT 1 FROM ${list.from}${list.where.length ? ` WHERE ${list.where.join(" AND ")}` : ""}`;
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${select} LIMIT ${LIST_TOTAL_EXACT_MAX + 1}) s`, list.values);
  const counted = rows[0]?.n ?? 0;
  if (counted <= LIST_TOTAL_EXACT_MAX) return { total: counted, total_is_estimate: false };
  const plan = await db.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${select}`, list.values);
  return { total: Math.max(LIST_TOTAL_EXACT_MAX + 1, planRows(plan.rows[0])), total_is_estimate: true };
}

/** The top node's "Plan Rows" of an `EXPLAIN (FORMAT JSON)` row (drivers hand the JSON parsed or as text). */
export function planRows(row: Record<string, unknown> | undefined): number {
  let value: unknown = row ? Object.values(row)[0] : undefined;
  if (typeof value === "string") value = JSON.parse(value) as unknown;
  const rowsEstimate = (value as { Plan?: { "Plan Rows"?: unknown } }[] | undefined)?.[0]?.Plan?.["Plan Rows"];
  return typeof rowsEstimate === "number" && Number.isFinite(rowsEstimate) ? Math.round(rowsEstimate) : 0;
}

/** The words of a search box: split on white space, lower-cased, at most 10 (the rest add little). */
export function searchWords(search: string | undefined): string[] {
  return (search ?? "").toLowerCase().split(/\s+/).filter(Boolean).slice(0, 10);
}
