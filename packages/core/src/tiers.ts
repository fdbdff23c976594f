import { validationError, type ValidationIssue } from "./errors.js";

/** What a workspace may use of managed execution. Tiers are data, not code paths. */
export interface TierLimits {
  /** Managed (`ferry:managed`) work pools in the workspace. */
  managed_pools: number;
  /** Managed runs in PENDING, RUNNING or CANCELLING at once. */
  concurrent_managed_runs: number;
  /** Compute hours of managed runs per calendar month (UTC). */
  compute_hours_per_month: number;
  /** Hard memory limit of a managed run, dependency installation included. */
  memory_mib: number;
  /** Longest a managed run may last before it is stopped (CRASHED, TimedOut). */
  max_runtime_seconds: number;
  /** CPU share of a managed run's container, in cores. */
  cpus: number;
}

const GIB = 1024;
const DAY = 24 * 60 * 60;

export const TIERS = {
  free: {
    managed_pools: 1,
    concurrent_managed_runs: 1,
    compute_hours_per_month: 10,
    memory_mib: 2 * GIB,
    max_runtime_seconds: DAY,
    cpus: 1,
  },
  pro: {
    managed_pools: 5,
    concurrent_managed_runs: 10,
    compute_hours_per_month: 250,
    memory_mib: 2 * GIB,
    max_runtime_seconds: DAY,
    cpus: 2,
  },
} as const satisfies Record<string, TierLimits>;

export type TierName = keyof typeof TIERS;
export const TIER_NAMES = Object.keys(TIERS) as TierName[];

/** Ceilings no workspace goes past, whatever an operator sets: the platform's own promises. */
export const PLATFORM_CEILINGS: Pick<TierLimits, "memory_mib" | "max_runtime_seconds"> = {
  memory_mib: 2 * GIB,
  max_runtime_seconds: DAY,
};

export function isTierName(value: unknown): value is TierName {
  return typeof value === "string" && Object.hasOwn(TIERS, value);
}

/**
 * The limits in force for a workspace: its tier's, with an operator's overrides on top. Memory and
 * runtime overrides may lower the ceiling (a test sets a short runtime) but never raise it.
 */
export function effectiveLimits(tier: TierName, overrides: Partial<TierLimits> | null | undefined): TierLimits {
  const limits: TierLimits = { ...TIERS[tier], ...(overrides ?? {}) };
  limits.memory_mib = Math.min(limits.memory_mib, PLATFORM_CEILINGS.memory_mib);
  limits.max_runtime_seconds = Math.min(limits.max_runtime_seconds, PLATFORM_CEILINGS.max_runtime_seconds);
  return limits;
}

const LIMIT_KEYS: (keyof TierLimits)[] = [
  "managed_pools",
  "concurrent_managed_runs",
  "compute_hours_per_month",
  "memory_mib",
  "max_runtime_seconds",
  "cpus",
];

/** Validates an operator's overrides: known keys, non-negative finite numbers, within the ceilings. */
export function parseLimitOverrides(input: unknown): Partial<TierLimits> {
  if (input === null || input === undefined) return {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw validationError("limits must be an object such as {\"concurrent_managed_runs\": 3}");
  }
  const issues: ValidationIssue[] = [];
  const out: Partial<TierLimits> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!LIMIT_KEYS.includes(key as keyof TierLimits)) {
      issues.push({ path: `/${key}`, message: `is not a limit; use one of ${LIMIT_KEYS.join(", ")}` });
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      issues.push({ path: `/${key}`, message: "must be a non-negative number" });
      continue;
    }
    const ceiling = PLATFORM_CEILINGS[key as keyof typeof PLATFORM_CEILINGS];
    if (ceiling !== undefined && value > ceiling) {
      issues.push({ path: `/${key}`, message: `must be at most ${ceiling}` });
      continue;
    }
    out[key as keyof TierLimits] = value;
  }
  if (issues.length) throw validationError("invalid workspace limits", issues);
  return out;
}

/** The first instant of the calendar month (UTC) that contains `now`: compute hours reset there. */
export function monthStartUtc(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}
