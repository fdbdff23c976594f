import { isStateType, type FlowRunListQuery, type StateType } from "@ferry/core/browser";

/**
 * The flow-run list's filters as they live in the URL (`/runs?state=RUNNING,FAILED&pool=p&since=1d`),
 * so a filtered view is a link. Parsed leniently: a value the list cannot use is dropped, not an error.
 */
export interface RunsSearch {
  /** Comma-separated state types. */
  state?: string;
  pool?: string;
  /** A deployment's id. */
  deployment?: string;
  /** A preset relative to now (`1h`, `1d`, `7d`), or nothing when `after`/`before` are given. */
  since?: TimePreset;
  /** ISO instants. */
  after?: string;
  before?: string;
}

export const TIME_PRESETS = { "1h": { label: "Last hour", ms: 3_600_000 }, "1d": { label: "Last day", ms: 86_400_000 }, "7d": { label: "Last week", ms: 604_800_000 } } as const;
export type TimePreset = keyof typeof TIME_PRESETS;
const isPreset = (v: unknown): v is TimePreset => typeof v === "string" && Object.hasOwn(TIME_PRESETS, v);

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);
const instant = (v: unknown): string | undefined => {
  const t = text(v);
  return t !== undefined && !Number.isNaN(Date.parse(t)) ? new Date(t).toISOString() : undefined;
};

/** The route's validateSearch: unknown keys and unusable values are dropped. */
export function parseRunsSearch(search: Record<string, unknown>): RunsSearch {
  const out: RunsSearch = {};
  const states = statesOf(typeof search.state === "string" ? search.state : Array.isArray(search.state) ? search.state.join(",") : undefined);
  if (states.length) out.state = states.join(",");
  const pool = text(search.pool);
  if (pool) out.pool = pool;
  const deployment = text(search.deployment);
  if (deployment) out.deployment = deployment;
  if (isPreset(search.since)) out.since = search.since;
  else {
    const after = instant(search.after);
    const before = instant(search.before);
    if (after) out.after = after;
    if (before) out.before = before;
  }
  return out;
}

/** The state types of a comma-separated list, in the order of STATE_TYPES' appearance in it, without repeats. */
export function statesOf(state: string | undefined): StateType[] {
  if (!state) return [];
  return [...new Set(state.split(",").map((s) => s.trim().toUpperCase()))].filter(isStateType);
}

/** A fixed filter a page puts on the list (the pool's page: its pool; a deployment's page: its deployment). */
export interface FixedRunsFilter {
  work_pool?: string;
  deployment_id?: string;
}

/** The API query for a search (and the fixed filter, which wins), `now` turning a preset into an instant. */
export function runsQuery(search: RunsSearch, fixed: FixedRunsFilter = {}, now: number = Date.now()): Omit<FlowRunListQuery, "cursor" | "limit"> {
  const q: Omit<FlowRunListQuery, "cursor" | "limit"> = {};
  if (search.state) q.state = statesOf(search.state).join(",");
  const pool = fixed.work_pool ?? search.pool;
  if (pool) q.work_pool = pool;
  const deployment = fixed.deployment_id ?? search.deployment;
  if (deployment) q.deployment_id = deployment;
  if (search.since) q.created_after = new Date(now - TIME_PRESETS[search.since].ms).toISOString();
  else {
    if (search.after) q.created_after = search.after;
    if (search.before) q.created_before = search.before;
  }
  return q;
}
