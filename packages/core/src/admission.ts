import { stateChange, type StateChange, type StateName, type StateType } from "./states.js";
import type { TierLimits } from "./tiers.js";

/**
 * Admission: which waiting runs may start now. One function for every pool kind, so the managed
 * dispatcher (the workspace's tier: concurrent runs, compute hours) and the push dispatcher (a pool's
 * concurrency limit) decide the same way. Pure: the caller reads the counts and the queue under the
 * workspace's lock, applies each decision with a compare-and-set, and starts what was admitted.
 */

/** A run that waits to start, as the queue gives it (oldest first). */
export interface QueuedRun {
  id: string;
  work_pool_id: string;
  deployment_id?: string;
  state: { type: StateType; name: StateName };
}

/** A pool as admission sees it. `active`: its runs in PENDING, RUNNING or CANCELLING now. */
export interface AdmissionPool {
  name: string;
  paused: boolean;
  concurrency_limit: number | null;
  active: number;
}

/**
 * A deployment with a concurrency limit, as admission sees it. `active`: its runs in PENDING, RUNNING
 * or CANCELLING now. `cancel_new`: a run that finds the limit reached is cancelled instead of waiting.
 */
export interface AdmissionDeployment {
  name: string;
  concurrency_limit: number;
  collision_strategy: "enqueue" | "cancel_new";
  active: number;
}

/** The workspace's tier and what it has used: present for managed runs, absent for push runs. */
export interface AdmissionTier {
  tier: string;
  limits: TierLimits;
  /** Managed runs in PENDING, RUNNING or CANCELLING across the workspace. */
  activeManagedRuns: number;
  /** Compute seconds of managed runs this month. */
  computeSecondsThisMonth: number;
}

export interface AdmissionInput {
  /** Runs waiting to start, first in first out. */
  queued: QueuedRun[];
  pools: ReadonlyMap<string, AdmissionPool>;
  /** The queued runs' deployments that have a concurrency limit, by id (those without one are absent). */
  deployments?: ReadonlyMap<string, AdmissionDeployment>;
  /** Limits of the workspace's tier, for managed runs; undefined for push runs (no tier limits). */
  tier?: AdmissionTier;
  /** The state an admitted run moves to: PENDING, with a name and message saying where it starts. */
  admitted: StateChange;
}

/**
 * - `admit`: start it now (the change moves it to PENDING).
 * - `wait`: no slot; the change marks it AwaitingConcurrencySlot, or is null when it already is.
 * - `cancel`: it can never start this month (compute hours spent), or its deployment is at its limit
 *   with collision_strategy cancel_new; the change cancels it.
 * - `hold`: leave it as it is (its pool is paused, or gone).
 */
export type AdmissionDecision =
  | { run: QueuedRun; action: "admit"; change: StateChange }
  | { run: QueuedRun; action: "wait"; change: StateChange | null }
  | { run: QueuedRun; action: "cancel"; change: StateChange }
  | { run: QueuedRun; action: "hold"; change: null };

/** Whether the month's managed compute hours are spent. */
export function computeHoursSpent(tier: Pick<AdmissionTier, "limits" | "computeSecondsThisMonth">): boolean {
  return tier.computeSecondsThisMonth >= tier.limits.compute_hours_per_month * 3600;
}

/**
 * Decides, in queue order, what happens to each waiting run. A run takes a slot only when both its
 * workspace (tier) and its pool have one; a run that cannot start does not let a later run of the same
 * pool or workspace jump ahead of it, so a pool's and a workspace's runs start first in first out.
 */
export function decideAdmission(input: AdmissionInput): AdmissionDecision[] {
  const { tier } = input;
  const spent = tier ? computeHoursSpent(tier) : false;
  let tierFree = tier ? tier.limits.concurrent_managed_runs - tier.activeManagedRuns : Number.POSITIVE_INFINITY;
  const poolActive = new Map<string, number>();
  for (const [id, pool] of input.pools) poolActive.set(id, pool.active);
  const deploymentActive = new Map<string, number>();
  for (const [id, d] of input.deployments ?? []) deploymentActive.set(id, d.active);

  return input.queued.map((run): AdmissionDecision => {
    if (spent && tier) {
      return {
        run,
        action: "cancel",
        change: stateChange("CANCELLED", {
          message: `cancelled: this workspace has used its ${tier.limits.compute_hours_per_month} managed compute hours for this month (${tier.tier} tier)`,
        }),
      };
    }
    const pool = input.pools.get(run.work_pool_id);
    if (!pool || pool.paused) return { run, action: "hold", change: null };
    const deployment = run.deployment_id ? input.deployments?.get(run.deployment_id) : undefined;
    const deploymentRunning = deployment ? (deploymentActive.get(run.deployment_id!) ?? 0) : 0;
    const deploymentFull = deployment !== undefined && deploymentRunning >= deployment.concurrency_limit;
    if (deploymentFull && deployment.collision_strategy === "cancel_new") {
      return {
        run,
        action: "cancel",
        change: stateChange("CANCELLED", {
          message: `cancelled: deployment '${deployment.name}' already runs ${deploymentRunning} of its ${deployment.concurrency_limit} allowed runs (collision_strategy cancel_new)`,
        }),
      };
    }
    const active = poolActive.get(run.work_pool_id) ?? 0;
    const poolFull = pool.concurrency_limit !== null && active >= pool.concurrency_limit;
    if (!poolFull && !deploymentFull && tierFree > 0) {
      tierFree--;
      poolActive.set(run.work_pool_id, active + 1);
      if (deployment) deploymentActive.set(run.deployment_id!, deploymentRunning + 1);
      return { run, action: "admit", change: input.admitted };
    }
    // A Late run stays Late while it waits: that it is late is what its user needs to see.
    if (run.state.name === "AwaitingConcurrencySlot" || run.state.name === "Late") return { run, action: "wait", change: null };
    const message = deploymentFull
      ? `deployment '${deployment.name}' is running ${deploymentRunning} of its ${deployment.concurrency_limit} allowed runs; this run starts when one ends`
      : poolFull
      ? `work pool '${pool.name}' is running ${active} of its ${pool.concurrency_limit} allowed runs; this run starts when one ends`
      : `the ${tier!.tier} tier runs ${tier!.limits.concurrent_managed_runs} managed run${tier!.limits.concurrent_managed_runs === 1 ? "" : "s"} at a time; this one starts when a slot frees`;
    return { run, action: "wait", change: stateChange("SCHEDULED", { name: "AwaitingConcurrencySlot", message }) };
  });
}
