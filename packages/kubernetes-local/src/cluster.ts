import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ContainerHandle, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import { notFound, StatusError, type KubeObject, type ObjectStore } from "./object-store.js";
import { parseBytes, parseCpus } from "./quantities.js";

export interface ClusterOptions {
  /** Where claims' volumes live (a directory per claim, bind-mounted into pods). */
  dataDir: string;
  /** The one node's allocatable resources: a pod asking more stays Pending, Unschedulable. */
  node: { cpus: number; memoryMib: number };
  /** Extra host directories every pod's container gets read-only (`/host:/container`): a test's git repository. */
  binds: string[];
  /** How long a container is given to print its last lines after it exits, before its pod is marked terminated. */
  logSettleMs?: number;
}

interface PodRuntime {
  handle?: ContainerHandle;
  lines: OutputLine[];
  /** Resolves once the container has exited and its pod's status says so. */
  exited?: Promise<void>;
  deleting?: Promise<void>;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/**
 * The controllers and the kubelet, as far as Ferry's runner needs them: the Job controller (one pod per
 * Job, backoffLimit, activeDeadlineSeconds, ttlSecondsAfterFinished, suspend), the garbage collector
 * (owner references; Foreground, Background and Orphan deletion), and one node whose kubelet runs each
 * pod's first container on the Docker engine (image present or ImagePullBackOff; Secrets as envFrom;
 * emptyDirs as tmpfs; claims as directories; the security context; memory and CPU limits).
 */
export class Cluster {
  private readonly pods = new Map<string, PodRuntime>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly runtime: ContainerRuntime,
    private readonly options: ClusterOptions,
  ) {}

  private later(ms: number, fn: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) void Promise.resolve(fn()).catch(() => undefined);
    }, ms);
    this.timers.add(timer);
  }

  // ---- Jobs ----

  /** After a Job is created or changed: start its pod when it is not suspended and has none. */
  syncJob(namespace: string, name: string): void {
    const job = this.store.get("jobs", namespace, name);
    if (!job || job.metadata.deletionTimestamp || job.spec?.suspend) return;
    if (job.status?.startTime) return;
    const started = this.store.update("jobs", namespace, name, (j) => {
      j.status = { ...(j.status ?? {}), startTime: now(), active: 1 };
    })!;
    const template = job.spec.template ?? {};
    const pod = this.store.create("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "",
        generateName: `${name}-`,
        namespace,
        uid: "",
        resourceVersion: "",
        creationTimestamp: "",
        labels: { ...(template.metadata?.labels ?? {}), "batch.kubernetes.io/job-name": name, "job-name": name, "batch.kubernetes.io/controller-uid": job.metadata.uid },
        annotations: { ...(template.metadata?.annotations ?? {}) },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: template.spec ?? {},
      status: { phase: "Pending", conditions: [] },
    });
    const deadline = job.spec.activeDeadlineSeconds;
    if (typeof deadline === "number") this.later(deadline * 1000, () => this.deadline(namespace, name, started.metadata.uid));
    void this.runPod(namespace, pod.metadata.name).catch(() => undefined);
  }

  private deadline(namespace: string, name: string, uid: string): void {
    const job = this.store.get("jobs", namespace, name);
    if (!job || job.metadata.uid !== uid || finished(job) || job.metadata.deletionTimestamp) return;
    this.store.update("jobs", namespace, name, (j) => {
      j.status = { ...j.status, active: 0, failed: (j.status?.failed ?? 0) + 1, conditions: [...(j.status?.conditions ?? []), condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")] };
    });
    for (const pod of this.dependents("pods", namespace, uid)) void this.deletePod(namespace, pod.metadata.name).catch(() => undefined);
    this.afterFinish(namespace, name, uid);
  }

  private podEnded(pod: KubeObject, succeeded: boolean): void {
    const owner = pod.metadata.ownerReferences?.find((o) => o.kind === "Job");
    if (!owner) return;
    const job = this.store.get("jobs", pod.metadata.namespace, owner.name);
    if (!job || job.metadata.uid !== owner.uid || finished(job)) return;
    this.store.update("jobs", job.metadata.namespace, job.metadata.name, (j) => {
      const done = succeeded ? condition("Complete", undefined, undefined) : condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
      j.status = {
        ...j.status,
        active: 0,
        ...(succeeded ? { succeeded: 1, completionTime: now() } : { failed: (j.status?.failed ?? 0) + 1 }),
        conditions: [...(j.status?.conditions ?? []), done],
      };
    });
    this.afterFinish(job.metadata.namespace, job.metadata.name, job.metadata.uid);
  }

  private afterFinish(namespace: string, name: string, uid: string): void {
    const job = this.store.get("jobs", namespace, name);
    const ttl = job?.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== "number") return;
    this.later(ttl * 1000, async () => {
      const current = this.store.get("jobs", namespace, name);
      if (current?.metadata.uid === uid) await this.deleteJob(namespace, name, "Background");
    });
  }

  /** Deletes a Job: Orphan leaves its pods and Secrets, Background deletes them after it, Foreground before it. */
  async deleteJob(namespace: string, name: string, policy: "Orphan" | "Background" | "Foreground"): Promise<KubeObject> {
    const job = this.store.get("jobs", namespace, name);
    if (!job) throw notFound("jobs", name);
    const uid = job.metadata.uid;
    if (policy === "Foreground") {
      if (job.metadata.deletionTimestamp) return job;
      const marked = this.store.update("jobs", namespace, name, (j) => {
        j.metadata.deletionTimestamp = now();
        j.metadata.finalizers = [...(j.metadata.finalizers ?? []), "foregroundDeletion"];
      })!;
      void (async () => {
        await Promise.all(this.dependents("pods", namespace, uid).map((p) => this.deletePod(namespace, p.metadata.name).catch(() => undefined)));
        this.collect(namespace, uid);
        const current = this.store.get("jobs", namespace, name);
        if (current?.metadata.uid === uid) this.store.remove("jobs", namespace, name);
      })();
      return marked;
    }
    const removed = this.store.remove("jobs", namespace, name)!;
    if (policy === "Background") {
      void Promise.all(this.dependents("pods", namespace, uid).map((p) => this.deletePod(namespace, p.metadata.name).catch(() => undefined)));
      this.collect(namespace, uid);
    }
    return removed;
  }

  /** The garbage collector's part for what is not a pod: Secrets whose every owner is gone. */
  private collect(namespace: string, uid: string): void {
    for (const secret of this.dependents("secrets", namespace, uid)) {
      const owners = secret.metadata.ownerReferences ?? [];
      const alive = owners.filter((o) => o.uid !== uid && this.store.list("jobs", namespace).some((j) => j.metadata.uid === o.uid));
      if (alive.length === 0) this.store.remove("secrets", namespace, secret.metadata.name);
    }
  }

  private dependents(resource: "pods" | "secrets", namespace: string, uid: string): KubeObject[] {
    return this.store.list(resource, namespace).filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid));
  }

  /** A Secret was created: pods waiting for it may start. */
  secretCreated(namespace: string): void {
    for (const pod of this.store.list("pods", namespace)) {
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason === "CreateContainerConfigError") void this.runPod(namespace, pod.metadata.name).catch(() => undefined);
    }
  }

  // ---- the kubelet ----

  private setStatus(namespace: string, name: string, change: (status: Record<string, unknown> & { conditions?: unknown[] }) => void): void {
    this.store.update("pods", namespace, name, (p) => {
      p.status = { ...(p.status ?? {}) };
      change(p.status);
    });
  }

  private async runPod(namespace: string, name: string): Promise<void> {
    const pod = this.store.get("pods", namespace, name);
    if (!pod || pod.metadata.deletionTimestamp || this.pods.get(`${namespace}/${name}`)?.handle) return;
    const spec = pod.spec ?? {};
    const container = spec.containers?.[0] ?? {};
    const limits = container.resources?.limits ?? container.resources?.requests ?? {};
    const memoryBytes = parseBytes(container.resources?.requests?.memory ?? limits.memory);
    const cpus = parseCpus(container.resources?.requests?.cpu ?? limits.cpu);
    const short: string[] = [];
    if (memoryBytes !== null && memoryBytes > this.options.node.memoryMib * 1024 * 1024) short.push("Insufficient memory");
    if (cpus !== null && cpus > this.options.node.cpus) short.push("Insufficient cpu");
    const claims: Record<string, string> = {};
    for (const volume of spec.volumes ?? []) {
      const claim = volume.persistentVolumeClaim?.claimName;
      if (!claim) continue;
      if (!this.store.get("persistentvolumeclaims", namespace, claim)) short.push(`persistentvolumeclaim "${claim}" not found`);
      claims[volume.name] = this.claimDir(namespace, claim);
    }
    if (short.length) {
      this.setStatus(namespace, name, (s) => {
        s.conditions = [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: `0/1 nodes are available: 1 ${short.join(", 1 ")}.`, lastTransitionTime: now() }];
      });
      return;
    }
    this.setStatus(namespace, name, (s) => {
      s.conditions = [{ type: "PodScheduled", status: "True", lastTransitionTime: now() }];
      s.startTime = now();
      s.hostIP = "127.0.0.1";
    });
    const image: string = container.image;
    const waiting = (reason: string, message: string) =>
      this.setStatus(namespace, name, (s) => {
        s.containerStatuses = [{ name: container.name, image, imageID: "", ready: false, restartCount: 0, started: false, state: { waiting: { reason, message } } }];
      });
    if (!(await this.runtime.hasImage(image))) {
      waiting("ErrImagePull", `failed to pull and unpack image "${image}": not found on this node (kubernetes-local never pulls)`);
      this.later(1000, () => waiting("ImagePullBackOff", `Back-off pulling image "${image}"`));
      return;
    }
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const ref = from.secretRef?.name;
      if (!ref) continue;
      const secret = this.store.get("secrets", namespace, ref);
      if (!secret) {
        waiting("CreateContainerConfigError", `secret "${ref}" not found`);
        return;
      }
      for (const [key, value] of Object.entries((secret.data ?? {}) as Record<string, string>)) env[key] = Buffer.from(value, "base64").toString("utf8");
    }
    for (const e of container.env ?? []) if (typeof e.value === "string") env[e.name] = e.value;
    const tmpfs: Record<string, string> = {};
    const binds = this.options.binds.map((b) => (b.split(":").length === 2 ? `${b}:ro` : b));
    for (const mount of container.volumeMounts ?? []) {
      const volume = (spec.volumes ?? []).find((v: { name: string }) => v.name === mount.name);
      if (volume?.emptyDir) {
        const size = parseBytes(volume.emptyDir.sizeLimit);
        tmpfs[mount.mountPath] = `rw,exec,nosuid,nodev,mode=1777${size ? `,size=${size}` : ""}`;
      } else if (claims[mount.name]) {
        binds.push(`${claims[mount.name]}:${mount.mountPath}${mount.readOnly ? ":ro" : ""}`);
      }
    }
    const security = { ...(spec.securityContext ?? {}), ...(container.securityContext ?? {}) };
    const user = security.runAsUser !== undefined ? `${security.runAsUser}${security.runAsGroup !== undefined ? `:${security.runAsGroup}` : ""}` : undefined;
    const record: PodRuntime = { lines: [] };
    this.pods.set(`${namespace}/${name}`, record);
    let handle: ContainerHandle;
    try {
      handle = await this.runtime.start({
        name: `kubernetes-local-${namespace}-${name}`,
        key: pod.metadata.uid,
        image,
        ...(container.command ? { entryPoint: container.command } : {}),
        ...(container.args ? { command: container.args } : container.command ? { command: [] } : {}),
        env,
        ...(limits.memory ? { memoryMib: Math.ceil(parseBytes(limits.memory)! / 1024 / 1024) } : {}),
        ...(limits.cpu ? { cpus: parseCpus(limits.cpu)! } : {}),
        ...(container.workingDir ? { workingDirectory: container.workingDir } : {}),
        ...(user ? { user } : {}),
        // The pod's PID 1 forwards SIGTERM to the program, as a runtime's shim and an image's init do.
        init: true,
        readOnlyRootFilesystem: security.readOnlyRootFilesystem === true,
        dropCapabilities: (security.capabilities?.drop ?? []).includes("ALL") || security.allowPrivilegeEscalation === false,
        tmpfs,
        binds,
      });
    } catch (error) {
      this.pods.delete(`${namespace}/${name}`);
      waiting("CreateContainerError", (error as Error).message);
      return;
    }
    record.handle = handle;
    const startedAt = now();
    this.setStatus(namespace, name, (s) => {
      s.phase = "Running";
      s.conditions = [...((s.conditions as unknown[]) ?? []), { type: "Ready", status: "True", lastTransitionTime: startedAt }];
      s.containerStatuses = [{ name: container.name, image, imageID: image, containerID: `docker://${handle.id}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt } } }];
    });
    const following = handle.follow((line) => {
      record.lines.push(line);
      if (record.lines.length > 20_000) record.lines.splice(0, 5_000);
    });
    record.exited = (async () => {
      const exit = await handle.wait();
      // The last lines are read before the pod says it ended, as a kubelet's log file has them.
      await Promise.race([following.catch(() => undefined), new Promise((r) => setTimeout(r, this.options.logSettleMs ?? 5000))]);
      const finishedAt = now();
      const reason = exit.oomKilled ? "OOMKilled" : exit.exitCode === 0 ? "Completed" : "Error";
      this.setStatus(namespace, name, (s) => {
        s.phase = exit.exitCode === 0 ? "Succeeded" : "Failed";
        s.conditions = ((s.conditions as { type: string }[]) ?? []).map((c) => (c.type === "Ready" ? { ...c, status: "False", reason: "PodCompleted" } : c));
        s.containerStatuses = [{ name: container.name, image, imageID: image, containerID: `docker://${handle.id}`, ready: false, started: false, restartCount: 0, state: { terminated: { exitCode: exit.exitCode, reason, startedAt, finishedAt, containerID: `docker://${handle.id}` } } }];
      });
      const ended = this.store.get("pods", namespace, name);
      if (ended) this.podEnded(ended, exit.exitCode === 0);
    })();
  }

  /** Deletes a pod gracefully: SIGTERM, SIGKILL after its grace period; its last state is in the DELETED event. */
  deletePod(namespace: string, name: string, graceSeconds?: number): Promise<void> {
    const key = `${namespace}/${name}`;
    const pod = this.store.get("pods", namespace, name);
    if (!pod) return Promise.reject(notFound("pods", name));
    const record = this.pods.get(key);
    if (record?.deleting) return record.deleting;
    const grace = graceSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const deleting = (async () => {
      this.store.update("pods", namespace, name, (p) => {
        p.metadata.deletionTimestamp = now();
        p.metadata.deletionGracePeriodSeconds = grace;
      });
      if (record?.handle) {
        await record.handle.stop(grace);
        await record.exited?.catch(() => undefined);
        await record.handle.remove();
      }
      this.pods.delete(key);
      this.store.remove("pods", namespace, name);
    })();
    if (record) record.deleting = deleting;
    else this.pods.set(key, { lines: [], deleting });
    return deleting;
  }

  /** What the kubelet answers for `pods/NAME/log`. */
  podLog(namespace: string, name: string, options: { tailLines?: number; timestamps?: boolean }): string {
    const pod = this.store.get("pods", namespace, name);
    if (!pod) throw notFound("pods", name);
    const record = this.pods.get(`${namespace}/${name}`);
    if (!record?.handle) {
      const container = pod.spec?.containers?.[0]?.name ?? "";
      const reason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? "ContainerCreating";
      throw new StatusError(400, "BadRequest", `container "${container}" in pod "${name}" is waiting to start: ${reason}`);
    }
    let lines = [...record.lines].sort((a, b) => a.timestamp - b.timestamp);
    if (options.tailLines !== undefined) lines = options.tailLines === 0 ? [] : lines.slice(-options.tailLines);
    return lines.map((l) => `${options.timestamps ? `${new Date(l.timestamp).toISOString()} ` : ""}${l.message}\n`).join("");
  }

  /** Marks a pod evicted by the node (a test's stand-in for memory pressure): its container is killed. */
  async evict(namespace: string, name: string, message: string): Promise<void> {
    const record = this.pods.get(`${namespace}/${name}`);
    this.setStatus(namespace, name, (s) => {
      s.phase = "Failed";
      s.reason = "Evicted";
      s.message = message;
    });
    await record?.handle?.stop(0);
  }

  claimDir(namespace: string, claim: string): string {
    return join(this.options.dataDir, "claims", namespace, claim);
  }

  /** A claim is bound at once to a directory of its own, writable by the pods' users (fsGroup is not emulated). */
  bindClaim(namespace: string, claim: string): void {
    const dir = this.claimDir(namespace, claim);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.runtime.removeAll();
  }
}

function condition(type: string, reason: string | undefined, message: string | undefined) {
  const at = now();
  return { type, status: "True", lastProbeTime: at, lastTransitionTime: at, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

export function finished(job: KubeObject): boolean {
  return ((job.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

export { StatusError };
