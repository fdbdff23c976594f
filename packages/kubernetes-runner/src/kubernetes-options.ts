import { validationError, type ValidationIssue } from "@ferry/core";

/** Where a run's engine writes, as in the Docker backend: everything else of its root filesystem is read-only. */
export const POD_CACHE_DIR = "/ferry/cache";
export const POD_HOME_DIR = "/home/ferry";
export const POD_SCRATCH_DIR = "/tmp";
/** The engine's container in each run's pod. */
export const ENGINE_CONTAINER = "engine";

/**
 * The dependency cache of a run: `claim`, a PersistentVolumeClaim per workspace and cache key (kept
 * across runs, never shared across workspaces); `emptyDir`, a fresh directory per pod (no storage class
 * needed, nothing is cached between runs).
 */
export type KubernetesCacheMode = "claim" | "emptyDir";

export interface KubernetesRunnerOptions {
  /** The namespace of the runs' Jobs, pods, Secrets and cache claims. */
  namespace: string;
  /** Names the Jobs, Secrets, claims and labels (`<prefix>/managed`…). Default "ferry". */
  labelPrefix?: string;
  /** Replaces the image's entrypoint and command (tests run a script instead of the engine). */
  engineCommand?: string[];
  /** Numeric user and group the engine runs as (never 0). Default 10001:10001. */
  user?: string;
  /** A RuntimeClass for the runs' pods, e.g. "gvisor". Default: the cluster's. */
  runtimeClassName?: string | null;
  /** SIGTERM → SIGKILL on stop (the pod's terminationGracePeriodSeconds). Default 10. */
  stopGraceSeconds?: number;
  /** How long a finished Job (and its pod, its Secret) stays when Ferry does not remove it. Default 3600. */
  ttlSecondsAfterFinished?: number;
  /** Added to a run's maximum runtime for the Job's activeDeadlineSeconds, so the server's own stop comes first. Default 60. */
  deadlineGraceSeconds?: number;
  /** activeDeadlineSeconds of a run whose spec carries no maximum runtime. Default 24 h. */
  defaultMaxRuntimeSeconds?: number;
  /** How long a pod may wait for a node before its run ends CRASHED. Default 300. */
  unschedulableTimeoutSeconds?: number;
  cache?: {
    mode?: KubernetesCacheMode;
    /** The claims' storage class; default the cluster's default class. */
    storageClassName?: string | null;
    /** Each claim's size. Default "10Gi". */
    size?: string;
    /** Default ReadWriteOnce (every class has it); ReadWriteMany lets runs on several nodes share a claim. */
    accessMode?: "ReadWriteOnce" | "ReadWriteMany";
  };
  /** How long `stop` waits for the pod to be gone before it fails (retryable). Default stopGraceSeconds + 60. */
  stopTimeoutSeconds?: number;
}

/** The options with every default applied, checked once. */
export interface KubernetesSettings {
  namespace: string;
  labelPrefix: string;
  engineCommand: string[] | null;
  uid: number;
  gid: number;
  runtimeClassName: string | null;
  stopGraceSeconds: number;
  ttlSecondsAfterFinished: number;
  deadlineGraceSeconds: number;
  defaultMaxRuntimeSeconds: number;
  unschedulableTimeoutSeconds: number;
  cache: { mode: KubernetesCacheMode; storageClassName: string | null; size: string; accessMode: "ReadWriteOnce" | "ReadWriteMany" };
  stopTimeoutSeconds: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseKubernetesOptions(options: KubernetesRunnerOptions): KubernetesSettings {
  const issues: ValidationIssue[] = [];
  const namespace = options.namespace;
  if (typeof namespace !== "string" || namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    issues.push({ path: "namespace", message: "must be a namespace name: lower-case letters, digits and '-' (up to 63)" });
  }
  const labelPrefix = options.labelPrefix ?? "ferry";
  if (labelPrefix.length > 20 || !DNS_LABEL.test(labelPrefix)) issues.push({ path: "labelPrefix", message: "must be lower-case letters, digits and '-' (up to 20)" });
  const user = options.user ?? "10001:10001";
  const match = /^(\d+):(\d+)$/.exec(user);
  const uid = match ? Number(match[1]) : NaN;
  const gid = match ? Number(match[2]) : NaN;
  if (!match || uid === 0) issues.push({ path: "user", message: "must be a numeric uid:gid other than root, e.g. 10001:10001" });
  const whole = (path: string, value: number | undefined, fallback: number, least: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < least) issues.push({ path, message: `must be a whole number of seconds, ${least} or more` });
    return v;
  };
  const stopGraceSeconds = whole("stopGraceSeconds", options.stopGraceSeconds, 10, 0);
  const size = options.cache?.size ?? "10Gi";
  if (!/^\d+(Ki|Mi|Gi|Ti)$/.test(size)) issues.push({ path: "cache.size", message: "must be a quantity such as 10Gi" });
  const mode = options.cache?.mode ?? "claim";
  if (mode !== "claim" && mode !== "emptyDir") issues.push({ path: "cache.mode", message: "must be claim or emptyDir" });
  const accessMode = options.cache?.accessMode ?? "ReadWriteOnce";
  if (accessMode !== "ReadWriteOnce" && accessMode !== "ReadWriteMany") issues.push({ path: "cache.accessMode", message: "must be ReadWriteOnce or ReadWriteMany" });
  const settings: KubernetesSettings = {
    namespace,
    labelPrefix,
    engineCommand: options.engineCommand ?? null,
    uid,
    gid,
    runtimeClassName: options.runtimeClassName ?? null,
    stopGraceSeconds,
    ttlSecondsAfterFinished: whole("ttlSecondsAfterFinished", options.ttlSecondsAfterFinished, 3600, 0),
    deadlineGraceSeconds: whole("deadlineGraceSeconds", options.deadlineGraceSeconds, 60, 0),
    defaultMaxRuntimeSeconds: whole("defaultMaxRuntimeSeconds", options.defaultMaxRuntimeSeconds, 24 * 3600, 1),
    unschedulableTimeoutSeconds: whole("unschedulableTimeoutSeconds", options.unschedulableTimeoutSeconds, 300, 1),
    cache: { mode, storageClassName: options.cache?.storageClassName ?? null, size, accessMode },
    stopTimeoutSeconds: whole("stopTimeoutSeconds", options.stopTimeoutSeconds, stopGraceSeconds + 60, 1),
  };
  if (issues.length) throw validationError("invalid Kubernetes runner options", issues);
  return settings;
}
