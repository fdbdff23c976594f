import { computeHoursSpent } from "./admission.js";
import { FerryError } from "./errors.js";
import type { TierLimits } from "./tiers.js";

/** Managed-execution usage of a workspace, as the store counts it. */
export interface ManagedUsage {
  managed_pools: number;
  concurrent_managed_runs: number;
  queued_managed_runs: number;
  compute_seconds: number;
}

/** Refuses a new managed pool past the tier's count, saying how to get more. */
export function assertCanCreateManagedPool(tier: string, limits: TierLimits, existing: number): void {
  if (existing >= limits.managed_pools) {
    throw new FerryError(
      "quota_exceeded",
      `the ${tier} tier allows ${limits.managed_pools} managed work pool${limits.managed_pools === 1 ? "" : "s"} and this workspace has ${existing}; ` +
        `delete one (ferry work-pool delete NAME) or move to a larger tier`,
      { details: { limit: "managed_pools", allowed: limits.managed_pools, used: existing } },
    );
  }
}

/** Refuses a new managed run once the month's compute hours are spent. */
export function assertComputeHoursLeft(tier: string, limits: TierLimits, usedSeconds: number): void {
  if (computeHoursSpent({ limits, computeSecondsThisMonth: usedSeconds })) {
    throw new FerryError(
      "quota_exceeded",
      `this workspace has used its ${limits.compute_hours_per_month} managed compute hours for this month (${tier} tier); ` +
        `runs can start again on the 1st (UTC), or move to a larger tier`,
      { details: { limit: "compute_hours_per_month", allowed: limits.compute_hours_per_month, used_seconds: usedSeconds } },
    );
  }
}

