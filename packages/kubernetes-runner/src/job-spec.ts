import { createHash } from "node:crypto";
import { ENGINE_ENV, validationError, type RunnerLaunchSpec } from "@ferry/core";
import type { V1Job, V1PersistentVolumeClaim, V1Secret, V1Volume } from "@kubernetes/client-node";
import { ENGINE_CONTAINER, POD_CACHE_DIR, POD_HOME_DIR, POD_SCRATCH_DIR, type KubernetesSettings } from "./kubernetes-options.js";

const MAX_NAME = 63;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function digest(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The label and annotation keys of Ferry's objects, under `labelPrefix` (a DNS label, so a valid key prefix). */
export function runnerLabels(labelPrefix: string) {
  return {
    managed: `${labelPrefix}/managed`,
    flowRunId: `${labelPrefix}/flow-run-id`,
    workspaceId: `${labelPrefix}/workspace-id`,
    workPoolId: `${labelPrefix}/work-pool-id`,
    cache: `${labelPrefix}/cache`,
    /** Annotation: the cache key, too long for a label value. */
    cacheKey: `${labelPrefix}/cache-key`,
  } as const;
}

/** A label value as Kubernetes takes it: the value when valid, else a digest of it (the annotations keep the original). */
export function labelValue(value: string): string {
  return value.length <= 63 && LABEL_VALUE.test(value) ? value : `h-${digest(value, 40)}`;
}

/**
 * A run's Job is named from its flow run, so a retried create (another server, a restart) meets the
 * first Job (409 AlreadyExists) instead of making a second: `<prefix>-run-<id>` when the id is a DNS
 * label (Ferry's are lower-case UUIDs), else a digest of it.
 */
export function jobName(labelPrefix: string, flowRunId: string): string {
  const plain = `${labelPrefix}-run-${flowRunId}`;
  // 57: the Job controller appends "-xxxxx" to name the pod, which must stay a 63-character label too.
  if (plain.length <= MAX_NAME - 6 && DNS_LABEL.test(plain)) return plain;
  return `${labelPrefix}-run-${digest(flowRunId, 32)}`;
}

/** The Secret with the run's environment (its bootstrap token): owned by the Job, so it goes with it. */
export function secretName(job: string): string {
  return `${job}-env`;
}

/**
 * A dependency cache belongs to one workspace: its claim is named from the workspace and the cache key
 * together, so two workspaces with the same packages never share one (a run can write its cache).
 */
export function cacheClaimName(labelPrefix: string, workspaceId: string, cacheKey: string): string {
  return `${labelPrefix}-cache-${digest(JSON.stringify([workspaceId, cacheKey]), 40)}`;
}

/** What the engine finds in its environment, before the run's own variables (which may move HOME or TMPDIR). */
export function runEnv(spec: RunnerLaunchSpec): Record<string, string> {
  return { HOME: POD_HOME_DIR, TMPDIR: POD_SCRATCH_DIR, ...spec.env };
}

function quantityMiB(mib: number): string {
  return `${mib}Mi`;
}

function quantityCpu(cpus: number): string {
  return `${Math.max(1, Math.round(cpus * 1000))}m`;
}

export function checkLaunchSpec(spec: RunnerLaunchSpec): void {
  const issues = [];
  if (typeof spec.flowRunId !== "string" || spec.flowRunId.length === 0 || spec.flowRunId.length > 128) issues.push({ path: "flowRunId", message: "must be 1 to 128 characters" });
  if (typeof spec.workspaceId !== "string" || spec.workspaceId.length === 0) issues.push({ path: "workspaceId", message: "is required" });
  if (typeof spec.image !== "string" || spec.image.length === 0) issues.push({ path: "image", message: "is required" });
  if (!Number.isInteger(spec.memoryMib) || spec.memoryMib < 6) issues.push({ path: "memoryMib", message: "must be a whole number of MiB, 6 or more" });
  if (!Number.isFinite(spec.cpus) || spec.cpus <= 0) issues.push({ path: "cpus", message: "must be a number above 0" });
  for (const name of Object.keys(spec.env)) {
    // envFrom skips a key that is not a variable name: the engine would miss it without a word.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) issues.push({ path: `env/${name}`, message: "must be a variable name (letters, digits, '_', not starting with a digit)" });
  }
  if (issues.length) throw validationError("invalid runner launch spec", issues);
}

/**
 * The Job of one run. One pod, never retried (`backoffLimit: 0`: a second attempt would run the flow
 * twice), stopped by Kubernetes itself shortly after the run's maximum runtime (a backstop for when no
 * server is there to stop it), removed some time after it ends. Created suspended: its pod starts once
 * the Secret it reads exists, which can only be made (owned by the Job) after the Job.
 *
 * A run is someone else's code: the pod runs as a non-root user with every capability dropped, no
 * privilege escalation, the runtime's default seccomp profile, a read-only root filesystem (it writes to
 * its emptyDir home and scratch and to its cache) and no service account token: it can do nothing with
 * the cluster's API. Requests equal limits (Guaranteed): memory is the tier's hard limit.
 */
export function buildRunJob(spec: RunnerLaunchSpec, settings: KubernetesSettings): V1Job {
  checkLaunchSpec(spec);
  const labels = runnerLabels(settings.labelPrefix);
  const name = jobName(settings.labelPrefix, spec.flowRunId);
  const objectLabels: Record<string, string> = {
    "app.kubernetes.io/managed-by": "ferry",
    [labels.managed]: "true",
    [labels.flowRunId]: labelValue(spec.flowRunId),
    [labels.workspaceId]: labelValue(spec.workspaceId),
    ...(spec.workPoolId ? { [labels.workPoolId]: labelValue(spec.workPoolId) } : {}),
  };
  const annotations = { [labels.flowRunId]: spec.flowRunId, [labels.workspaceId]: spec.workspaceId, [labels.cacheKey]: spec.cacheKey };
  const resources = { memory: quantityMiB(spec.memoryMib), cpu: quantityCpu(spec.cpus) };
  // emptyDirs count against the pod's memory only with medium Memory; on disk, their size is capped as the Docker backend's tmpfs are.
  const scratch = { sizeLimit: quantityMiB(spec.memoryMib) };
  const cache: V1Volume =
    settings.cache.mode === "claim"
      ? { name: "cache", persistentVolumeClaim: { claimName: cacheClaimName(settings.labelPrefix, spec.workspaceId, spec.cacheKey) } }
      : { name: "cache", emptyDir: {} };
  const maxRuntime = spec.maxRuntimeSeconds ?? settings.defaultMaxRuntimeSeconds;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: settings.namespace, labels: objectLabels, annotations },
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: maxRuntime + settings.deadlineGraceSeconds,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
      suspend: true,
      template: {
        metadata: { labels: objectLabels, annotations },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: settings.stopGraceSeconds,
          ...(settings.runtimeClassName ? { runtimeClassName: settings.runtimeClassName } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: settings.uid,
            runAsGroup: settings.gid,
            fsGroup: settings.gid,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: ENGINE_CONTAINER,
              image: spec.image,
              imagePullPolicy: "IfNotPresent",
              ...(settings.engineCommand ? { command: settings.engineCommand, args: [] } : {}),
              workingDir: POD_HOME_DIR,
              envFrom: [{ secretRef: { name: secretName(name) } }],
              // After envFrom, so it wins: the cache is where the backend mounts it, whatever the run's env says.
              env: [{ name: ENGINE_ENV.cacheDir, value: POD_CACHE_DIR }],
              resources: { requests: resources, limits: resources },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                privileged: false,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "home", mountPath: POD_HOME_DIR },
                { name: "scratch", mountPath: POD_SCRATCH_DIR },
                { name: "cache", mountPath: POD_CACHE_DIR },
              ],
            },
          ],
          volumes: [{ name: "home", emptyDir: scratch }, { name: "scratch", emptyDir: scratch }, cache],
        },
      },
    },
  };
}

/** The run's environment as a Secret owned by its Job (`uid`: the Job's), garbage-collected with it. */
export function buildRunSecret(spec: RunnerLaunchSpec, settings: KubernetesSettings, job: { name: string; uid: string }): V1Secret {
  const labels = runnerLabels(settings.labelPrefix);
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: secretName(job.name),
      namespace: settings.namespace,
      labels: { [labels.managed]: "true", [labels.flowRunId]: labelValue(spec.flowRunId) },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job.name, uid: job.uid, controller: true, blockOwnerDeletion: true }],
    },
    stringData: runEnv(spec),
  };
}

/** The claim of a workspace's dependency cache for one cache key (never owned by a Job: it outlives runs). */
export function buildCacheClaim(spec: Pick<RunnerLaunchSpec, "workspaceId" | "cacheKey">, settings: KubernetesSettings): V1PersistentVolumeClaim {
  const labels = runnerLabels(settings.labelPrefix);
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: cacheClaimName(settings.labelPrefix, spec.workspaceId, spec.cacheKey),
      namespace: settings.namespace,
      labels: { [labels.managed]: "true", [labels.cache]: "true", [labels.workspaceId]: labelValue(spec.workspaceId) },
      annotations: { [labels.workspaceId]: spec.workspaceId, [labels.cacheKey]: spec.cacheKey },
    },
    spec: {
      accessModes: [settings.cache.accessMode],
      resources: { requests: { storage: settings.cache.size } },
      ...(settings.cache.storageClassName ? { storageClassName: settings.cache.storageClassName } : {}),
    },
  };
}

/** Throws when a name Ferry would give is not one Kubernetes takes (a bug, not a user's mistake). */
export function assertDnsLabel(name: string): void {
  if (name.length > MAX_NAME || !DNS_LABEL.test(name)) throw new Error(`'${name}' is not a Kubernetes name`);
}
