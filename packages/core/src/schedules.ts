import { Cron } from "croner";
import rrulePackage from "rrule";
import { validationError } from "./errors.js";

// rrule ships CommonJS for Node: its named exports are on the default export.
const { rrulestr } = rrulePackage;

/**
 * Schedules of a deployment: when the server creates its runs on its own. Three kinds, as in Prefect:
 * a cron expression read in a time zone, a fixed interval from an anchor, or an RFC 5545 RRULE read in
 * a time zone. Everything here is pure: the server's scheduler asks which times to create, and the
 * store's unique (deployment, expected start time) makes creating one twice impossible.
 */
export interface ScheduleSpec {
  /** Five fields (minute hour day-of-month month day-of-week), or six with seconds first. */
  cron?: string;
  /** Seconds between runs, counted from `anchor_date`. */
  interval?: number;
  /** Where an interval starts counting (default 2020-01-01T00:00:00Z); an RRULE's DTSTART when it has none. */
  anchor_date?: string;
  rrule?: string;
  /** An IANA time zone the cron expression or RRULE is read in (default UTC). */
  timezone?: string;
}

export interface DeploymentSchedule extends ScheduleSpec {
  id: string;
  /** A paused schedule (false) creates no runs. */
  active: boolean;
}

export const CATCHUP_POLICIES = ["skip", "catch_up"] as const;
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];
export const COLLISION_STRATEGIES = ["enqueue", "cancel_new"] as const;
export type CollisionStrategy = (typeof COLLISION_STRATEGIES)[number];

/** A deployment's default grace before a run that has not started is Late (Prefect's is 15 s; runs here are admitted by a sweep). */
export const DEFAULT_LATE_AFTER_SECONDS = 60;
/** The shortest interval: shorter ones would fill the store with runs created ahead. */
export const MIN_INTERVAL_SECONDS = 10;
const DEFAULT_ANCHOR = "2020-01-01T00:00:00.000Z";
/** However an expression is written, no single call computes more than this many times. */
const MAX_OCCURRENCES = 10_000;

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a schedule as given (the API, ferry.yaml) and answers it normalised (a time zone always set).
 * `where` names it in messages, e.g. `schedules[0]`.
 */
export function validateSchedule(spec: ScheduleSpec, where = "schedule"): ScheduleSpec {
  const kinds = (["cron", "interval", "rrule"] as const).filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (kinds.length !== 1) {
    throw validationError(
      `${where} needs exactly one of cron, interval or rrule (it has ${kinds.length ? kinds.join(" and ") : "none"}), e.g. {cron: "0 9 * * 1-5", timezone: "Europe/Berlin"}`,
    );
  }
  const timezone = spec.timezone ?? "UTC";
  if (!isTimeZone(timezone)) {
    throw validationError(`${where}.timezone '${timezone}' is not an IANA time zone; use a name such as 'Europe/Berlin', 'America/New_York' or 'UTC'`);
  }
  if (spec.anchor_date !== undefined && Number.isNaN(Date.parse(spec.anchor_date))) {
    throw validationError(`${where}.anchor_date '${spec.anchor_date}' is not a date-time; use ISO 8601, e.g. 2026-01-01T09:00:00Z`);
  }
  const kind = kinds[0]!;
  if (kind === "cron") {
    try {
      new Cron(spec.cron!, { timezone, paused: true });
    } catch (error) {
      throw validationError(
        `${where}.cron '${spec.cron}' is not a cron expression (${(error as Error).message}); use five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'`,
      );
    }
    return { cron: spec.cron!.trim(), timezone };
  }
  if (kind === "interval") {
    if (!Number.isInteger(spec.interval) || spec.interval! < MIN_INTERVAL_SECONDS) {
      throw validationError(`${where}.interval must be a whole number of seconds, at least ${MIN_INTERVAL_SECONDS}; got ${String(spec.interval)}`);
    }
    return { interval: spec.interval!, anchor_date: new Date(spec.anchor_date ?? DEFAULT_ANCHOR).toISOString(), timezone };
  }
  try {
    parseRrule(spec.rrule!, spec.anchor_date);
  } catch (error) {
    throw validationError(
      `${where}.rrule '${spec.rrule}' is not an RRULE (${(error as Error).message}); use RFC 5545, e.g. 'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0'`,
    );
  }
  return { rrule: spec.rrule!.trim(), ...(spec.anchor_date ? { anchor_date: new Date(spec.anchor_date).toISOString() } : {}), timezone };
}

/**
 * A scheduled run has the deployment's parameters only: each one the flow requires must have a value
 * there, or every run a schedule makes would be refused. `deployment` names it in the error ("flow/name").
 */
export function assertSchedulableParameters(deployment: string, schema: Record<string, unknown> | null, parameters: Record<string, unknown>): void {
  const required = Array.isArray(schema?.required) ? (schema.required as unknown[]).filter((key): key is string => typeof key === "string") : [];
  const unset = required.filter((key) => !Object.hasOwn(parameters, key));
  if (!unset.length) return;
  const many = unset.length > 1;
  throw validationError(
    `deployment ${deployment} has schedules, and its scheduled runs would have no value for the required parameter${many ? "s" : ""} ${unset.map((key) => `'${key}'`).join(", ")}: ` +
      `give ${many ? "them" : "it"} a default in the deployment's parameters (ferry deploy --param ${unset[0]}=VALUE, or the project file's parameters), or deploy it without schedules`,
  );
}

/** Two schedules are the same when they create the same runs (ids and active flags aside). */
export function sameSchedule(a: ScheduleSpec, b: ScheduleSpec): boolean {
  const key = (s: ScheduleSpec) => JSON.stringify([s.cron ?? null, s.interval ?? null, s.anchor_date ?? null, s.rrule ?? null, s.timezone ?? "UTC"]);
  return key(a) === key(b);
}

/**
 * The schedule's times strictly after `after`: those up to `until` (inclusive) or the first `count`,
 * whichever comes first (at least one of the two must be given).
 */
export function nextOccurrences(schedule: ScheduleSpec, after: Date, bound: { until?: Date; count?: number }): Date[] {
  const count = Math.min(bound.count ?? MAX_OCCURRENCES, MAX_OCCURRENCES);
  const until = bound.until?.getTime() ?? Number.POSITIVE_INFINITY;
  if (bound.until === undefined && bound.count === undefined) throw new Error("nextOccurrences needs until or count");
  const out: Date[] = [];
  const push = (d: Date | null | undefined): boolean => {
    if (!d || d.getTime() > until || out.length >= count) return false;
    out.push(d);
    return out.length < count;
  };
  const timezone = schedule.timezone ?? "UTC";
  if (schedule.cron !== undefined) {
    const cron = new Cron(schedule.cron, { timezone, paused: true });
    let cursor: Date | null = after;
    while (cursor && push((cursor = cron.nextRun(cursor))));
    return out;
  }
  if (schedule.interval !== undefined) {
    const step = schedule.interval * 1000;
    const anchor = Date.parse(schedule.anchor_date ?? DEFAULT_ANCHOR);
    let n = Math.max(0, Math.floor((after.getTime() - anchor) / step) + 1);
    while (push(new Date(anchor + n * step))) n++;
    return out;
  }
  if (schedule.rrule !== undefined) {
    // The rule runs on "floating" wall-clock times (UTC fields standing for the zone's local time),
    // each then placed in the time zone: 09:00 stays 09:00 local across a DST change.
    const rule = parseRrule(schedule.rrule, schedule.anchor_date);
    let cursor = toWallClock(after, timezone);
    for (;;) {
      const wall = rule.after(cursor, false);
      if (!wall) return out;
      cursor = wall;
      const instant = fromWallClock(wall, timezone);
      if (instant.getTime() <= after.getTime()) continue;
      if (!push(instant)) return out;
    }
  }
  throw new Error("a schedule needs cron, interval or rrule");
}

function parseRrule(text: string, anchor: string | undefined) {
  const body = text.trim();
  if (!body) throw new Error("it is empty");
  const hasStart = /DTSTART/i.test(body);
  const dtstart = new Date(anchor ?? DEFAULT_ANCHOR);
  const rule = rrulestr(/^(RRULE:|DTSTART)/i.test(body) ? body : `RRULE:${body}`, hasStart ? {} : { dtstart });
  if (!("after" in rule)) throw new Error("give one rule, not a set");
  return rule as { after(d: Date, inc?: boolean): Date | null };
}

/** The instant's wall-clock time in `timeZone`, as a Date whose UTC fields hold it. */
export function toWallClock(instant: Date, timeZone: string): Date {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return new Date(Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"), instant.getUTCMilliseconds()));
}

/**
 * The instant at which `timeZone`'s clocks show the wall-clock time `wall` (UTC fields). A time that
 * a DST change skips is moved forward by the gap; one it repeats is the first of the two.
 */
export function fromWallClock(wall: Date, timeZone: string): Date {
  const offsetAt = (t: number) => toWallClock(new Date(t), timeZone).getTime() - t;
  const guess = wall.getTime() - offsetAt(wall.getTime());
  const earlier = wall.getTime() - offsetAt(guess - 3 * 3600_000);
  if (toWallClock(new Date(earlier), timeZone).getTime() === wall.getTime()) return new Date(Math.min(earlier, guess));
  const exact = wall.getTime() - offsetAt(guess);
  if (toWallClock(new Date(exact), timeZone).getTime() === wall.getTime()) return new Date(exact);
  // In a gap: the offset before the change, which lands after it.
  return new Date(earlier);
}

export interface ScheduleWindow {
  schedules: readonly DeploymentSchedule[];
  /** When the scheduler last created this deployment's runs; null: never (nothing was missed). */
  lastPass: Date | null;
  now: Date;
  catchup: { policy: CatchupPolicy; max_runs: number };
  /** Runs are created this far ahead… */
  horizonMs: number;
  /** …and at least this many per schedule, however far ahead they fall. */
  minRuns: number;
  /** At most this many ahead per schedule, however many the horizon holds. */
  maxRuns: number;
  /** Missed times are looked for this far back at most. */
  lookbackMs?: number;
}

/**
 * The times a deployment's runs should exist at, sorted and without repeats: ahead, the horizon's
 * (at least `minRuns`, at most `maxRuns` per active schedule); behind, the times missed since the last
 * pass (the server was down) as the policy says: `skip` creates none of them, `catch_up` the latest
 * `max_runs` (each then starts at once). Times that already have runs are left to the store's
 * uniqueness, so calling this twice, or on two servers, creates nothing twice.
 */
export function plannedRunTimes(window: ScheduleWindow): Date[] {
  const { now } = window;
  const times = new Map<number, Date>();
  const add = (d: Date) => times.set(d.getTime(), d);
  for (const schedule of window.schedules) {
    if (!schedule.active) continue;
    const horizon = nextOccurrences(schedule, now, { until: new Date(now.getTime() + window.horizonMs), count: window.maxRuns });
    const first = horizon.length >= window.minRuns ? [] : nextOccurrences(schedule, now, { count: Math.min(window.minRuns, window.maxRuns) });
    [...horizon, ...first].forEach(add);
    if (window.lastPass && window.catchup.policy === "catch_up" && window.catchup.max_runs > 0 && window.lastPass < now) {
      const from = new Date(Math.max(window.lastPass.getTime(), now.getTime() - (window.lookbackMs ?? 7 * 86_400_000)));
      const missed = nextOccurrences(schedule, from, { until: now });
      missed.slice(-window.catchup.max_runs).forEach(add);
    }
  }
  return [...times.values()].sort((a, b) => a.getTime() - b.getTime());
}

/** The idempotency key of a deployment's scheduled run: one run per deployment and time. */
export function scheduledRunKey(deploymentId: string, at: Date): string {
  return `${scheduledRunKeyPrefix(deploymentId)}${at.toISOString()}`;
}

/** What the idempotency keys of a deployment's scheduled runs start with: tells them from runs asked for a time. */
export function scheduledRunKeyPrefix(deploymentId: string): string {
  return `scheduled:${deploymentId}:`;
}

/** Whether a run that has not started is Late: its expected start (or creation) is more than the grace ago. */
export function isLate(run: { expected_start_time: string | null; created_at: string }, now: Date, lateAfterSeconds: number): boolean {
  const expected = Date.parse(run.expected_start_time ?? run.created_at);
  return now.getTime() - expected > lateAfterSeconds * 1000;
}

/** What a deployment has when nothing about scheduling was said. */
export const DEPLOYMENT_SCHEDULING_DEFAULTS = {
  schedules: [] as DeploymentSchedule[],
  catchup_policy: "skip" as CatchupPolicy,
  catchup_max_runs: 1,
  concurrency_limit: null as number | null,
  collision_strategy: "enqueue" as CollisionStrategy,
  late_after_seconds: DEFAULT_LATE_AFTER_SECONDS,
};
