import type { RunnerExit } from "@ferry/core";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { ENGINE_CONTAINER } from "./kubernetes-options.js";

/** The exit code of a run the platform ended before its container could run (Docker's for "could not run the container"). */
export const PLATFORM_EXIT_CODE = 125;

/**
 * What a run's pod (and its Job) say about the run: still going (`recheckAt`: when a pending pod's wait
 * becomes too long, if it is waiting for a node), or ended, with everything of its exit but the log tail.
 */
export type PodOutcome =
  | { ended: false; recheckAt?: number }
  | { ended: true; exit: Omit<RunnerExit, "tail">; /** Whether its container ran, so it has logs to read. */ ran: boolean };

/** Image-pull failures Kubernetes keeps retrying but that a run should not wait out (the first `ErrImagePull` may be a blip). */
const PULL_FAILURES = new Set(["ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);

function iso(value: Date | string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  return typeof value === "string" ? value : value.toISOString();
}

function deadlineExceeded(job: V1Job | undefined): boolean {
  return (job?.status?.conditions ?? []).some((c) => c.type === "Failed" && c.status === "True" && c.reason === "DeadlineExceeded");
}

function deadlineReason(job: V1Job | undefined): string {
  const seconds = job?.spec?.activeDeadlineSeconds;
  return `Kubernetes stopped the run at its Job's deadline${seconds ? ` (activeDeadlineSeconds ${seconds})` : ""}: the run exceeded its maximum runtime`;
}

/**
 * The one place a pod's state becomes a run's exit. `pod` is the last state seen (`gone`: it has been
 * deleted since), `job` the run's Job if it still exists; `now` in milliseconds.
 */
export function podOutcome(pod: V1Pod | undefined, job: V1Job | undefined, now: number, options: { unschedulableTimeoutSeconds: number; gone?: boolean }): PodOutcome {
  const nowIso = new Date(now).toISOString();
  const created = iso(pod?.metadata?.creationTimestamp ?? job?.metadata?.creationTimestamp, nowIso);
  const status = pod?.status;
  const container = (status?.containerStatuses ?? []).find((c) => c.name === ENGINE_CONTAINER) ?? status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  const timedOut = deadlineExceeded(job);
  if (terminated) {
    const evicted = status?.reason === "Evicted";
    const reason = evicted ? `Kubernetes evicted the run's pod: ${status?.message ?? "the node ran short of resources"}` : timedOut ? deadlineReason(job) : undefined;
    return {
      ended: true,
      ran: true,
      exit: {
        exitCode: terminated.exitCode,
        oomKilled: terminated.reason === "OOMKilled",
        startedAt: iso(terminated.startedAt, created),
        finishedAt: iso(terminated.finishedAt, nowIso),
        ...(reason ? { reason } : {}),
        ...(timedOut ? { timedOut: true } : {}),
      },
    };
  }
  const platform = (reason: string, more: { timedOut?: boolean } = {}): PodOutcome => ({
    ended: true,
    ran: false,
    exit: { exitCode: PLATFORM_EXIT_CODE, oomKilled: false, startedAt: created, finishedAt: nowIso, reason, ...more },
  });
  if (status?.reason === "Evicted" || (status?.phase === "Failed" && !container?.state?.running)) {
    return platform(`Kubernetes ${status?.reason === "Evicted" ? "evicted the run's pod" : "failed the run's pod"}: ${status?.message ?? status?.reason ?? "no reason given"}`);
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) {
    const image = pod?.spec?.containers?.[0]?.image ?? "the image";
    return platform(`the image '${image}' could not be pulled (${waiting.reason}): ${waiting.message ?? "no reason given"}; check its name and that the cluster may pull it (imagePullSecrets)`);
  }
  if (timedOut) return platform(deadlineReason(job), { timedOut: true });
  if (options.gone) return platform("the run's pod was deleted before its container ended");
  const scheduled = (status?.conditions ?? []).find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    const since = Date.parse(iso(scheduled.lastTransitionTime, created));
    const limit = since + options.unschedulableTimeoutSeconds * 1000;
    if (now >= limit) {
      return platform(`no node could run the run's pod for ${options.unschedulableTimeoutSeconds} s: ${scheduled.message ?? "unschedulable"}; make room in the cluster, or lower the tier's memory and CPU`);
    }
    return { ended: false, recheckAt: limit };
  }
  return { ended: false };
}

/** Whether a Job has finished (Complete or Failed), by its conditions. */
export function jobFinished(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}
