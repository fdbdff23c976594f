import { FerryError, type RunnerBackend, type RunnerExit, type RunnerInstance, type RunnerLaunchSpec, type RunnerStarted } from "@ferry/core";
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { buildCacheClaim, buildRunJob, buildRunSecret, runnerLabels } from "./job-spec.js";
import { classifyKubernetesError, statusOf } from "./kubernetes-errors.js";
import { ENGINE_CONTAINER, parseKubernetesOptions, type KubernetesRunnerOptions, type KubernetesSettings } from "./kubernetes-options.js";
import { jobFinished, podOutcome, PLATFORM_EXIT_CODE } from "./pod-exit.js";
import { PodWatch } from "./pod-watch.js";

export interface KubernetesRunnerBackendOptions extends KubernetesRunnerOptions {
  /** The client's configuration: a kubeconfig already loaded. Without it, `kubeconfigPath`, else the pod's in-cluster account. */
  kubeConfig?: KubeConfig;
  /** A kubeconfig file (its current context). */
  kubeconfigPath?: string | null;
  /** Where the watch's failures go (it retries by itself). */
  onWatchError?: (error: unknown) => void;
}

/** How often a run whose Job has no pod yet is looked at again (its pod's events wake the wait otherwise). */
const NO_POD_RECHECK_MS = 5000;

/** How many of the pod's last log lines an exit carries, as the Docker backend's. */
const TAIL_LINES = 50;

interface Ended {
  exit: RunnerExit;
  flowRunId: string;
  workspaceId: string;
}

/** The client configuration from what the server was given: a kubeconfig file, or the pod's own service account. */
export function loadKubeConfig(path: string | null | undefined): KubeConfig {
  const config = new KubeConfig();
  if (path) config.loadFromFile(path);
  else config.loadFromCluster();
  return config;
}

/**
 * Runs each flow run's engine as a Kubernetes Job (one pod, never retried) in one namespace, through
 * the official client. Exits are read from the pods' state, followed by one watch for the whole backend.
 * What an exit means for the run is core's (`stateForRunnerExit`): this reports the exit code, an
 * OOM kill, and for what the platform ended (an image it cannot pull, an eviction, no node, the Job's
 * deadline) the reason in plain words.
 */
export class KubernetesRunnerBackend implements RunnerBackend {
  readonly name = "kubernetes";
  readonly isolated = true;
  readonly settings: KubernetesSettings;
  readonly kubeConfig: KubeConfig;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  readonly pods: PodWatch;
  /** Exits read, until `remove`: a stopped run's Job is deleted, yet its exit must still be told, and a repeated start must not start it again. */
  private readonly ended = new Map<string, Ended>();

  constructor(options: KubernetesRunnerBackendOptions) {
    this.settings = parseKubernetesOptions(options);
    this.kubeConfig = options.kubeConfig ?? loadKubeConfig(options.kubeconfigPath);
    this.batch = this.kubeConfig.makeApiClient(BatchV1Api);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    const labels = runnerLabels(this.settings.labelPrefix);
    this.pods = new PodWatch(this.kubeConfig, this.core, this.settings.namespace, `${labels.managed}=true`, options.onWatchError);
  }

  private fail(error: unknown, action: string): FerryError {
    return classifyKubernetesError(error, { action, namespace: this.settings.namespace });
  }

  async start(spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const body = buildRunJob(spec, this.settings);
    const name = body.metadata!.name!;
    const namespace = this.settings.namespace;
    const ended = this.ended.get(name);
    if (ended) return { id: name, startedAt: ended.exit.startedAt };
    if (this.settings.cache.mode === "claim") {
      await this.core.createNamespacedPersistentVolumeClaim({ namespace, body: buildCacheClaim(spec, this.settings) }).catch((error: unknown) => {
        if (statusOf(error) !== 409) throw this.fail(error, "create the run's cache claim");
      });
    }
    let job: V1Job;
    try {
      job = await this.batch.createNamespacedJob({ namespace, body });
    } catch (error) {
      if (statusOf(error) !== 409) throw this.fail(error, "create the run's Job");
      // Made before (another server, an earlier attempt): that Job is the run's, never a second one.
      job = await this.readJob(name).then((found) => found ?? Promise.reject(this.fail(error, "read the run's Job")));
      const labels = runnerLabels(this.settings.labelPrefix);
      if (job.metadata?.annotations?.[labels.flowRunId] !== spec.flowRunId) {
        throw new FerryError("conflict", `a Job named ${name} exists in the namespace ${namespace} and was not started by Ferry for this run; delete it or use another labelPrefix`);
      }
    }
    if (job.spec?.suspend) {
      const secret = buildRunSecret(spec, this.settings, { name, uid: job.metadata!.uid! });
      await this.core.createNamespacedSecret({ namespace, body: secret }).catch((error: unknown) => {
        if (statusOf(error) !== 409) throw this.fail(error, "create the run's Secret");
      });
      // Its pod may start now that what it reads exists.
      job = await this.batch
        .patchNamespacedJob({ name, namespace, body: [{ op: "replace", path: "/spec/suspend", value: false }] })
        .catch((error: unknown) => Promise.reject(this.fail(error, "start the run's Job")));
    }
    return { id: name, startedAt: iso(job.metadata?.creationTimestamp) };
  }

  async wait(id: string, signal?: AbortSignal): Promise<RunnerExit> {
    const known = this.ended.get(id);
    if (known) return known.exit;
    signal?.throwIfAborted();
    await this.pods.start().catch((error: unknown) => Promise.reject(this.fail(error, "list the runs' pods")));
    let job = await this.readJob(id);
    for (;;) {
      const already = this.ended.get(id);
      if (already) return already.exit;
      const version = this.pods.version(id);
      const seen = this.pods.get(id);
      if (!job && !seen) throw new FerryError("not_found", `no Job ${id} in the Kubernetes namespace ${this.settings.namespace}`);
      let outcome = podOutcome(seen?.pod, job ?? undefined, Date.now(), { unschedulableTimeoutSeconds: this.settings.unschedulableTimeoutSeconds, gone: seen?.gone });
      if (!outcome.ended && !seen && job && jobFinished(job)) {
        const failed = job.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
        outcome = { ended: true, ran: false, exit: { exitCode: PLATFORM_EXIT_CODE, oomKilled: false, startedAt: iso(job.metadata?.creationTimestamp), finishedAt: new Date().toISOString(), reason: `the run's Job ended without a pod: ${failed?.message ?? failed?.reason ?? "no reason given"}` } };
      }
      if (outcome.ended) {
        const tail = outcome.ran && seen ? await this.tail(seen.pod.metadata!.name!) : [];
        const annotations = seen?.pod.metadata?.annotations ?? job?.metadata?.annotations ?? {};
        const labels = runnerLabels(this.settings.labelPrefix);
        const exit: RunnerExit = { ...outcome.exit, tail };
        if (!this.ended.has(id)) this.ended.set(id, { exit, flowRunId: annotations[labels.flowRunId] ?? "", workspaceId: annotations[labels.workspaceId] ?? "" });
        return this.ended.get(id)!.exit;
      }
      // While no pod is seen (the Job not yet resumed, or deleted before it made one), the Job is read
      // again every few seconds too: its deletion makes no pod event.
      const recheckAt = seen ? outcome.recheckAt : Math.min(outcome.recheckAt ?? Infinity, Date.now() + NO_POD_RECHECK_MS);
      await this.pods.changed(id, version, signal, recheckAt);
      // The Job's conditions (its deadline) matter once the pod ends or goes: read it again then.
      const now = this.pods.get(id);
      if (!now || now.gone || now.pod.status?.phase === "Failed" || now.pod.status?.phase === "Succeeded") job = await this.readJob(id);
    }
  }

  /** `_reason` is the dispatcher's, which writes it to the run's log; the cluster is told nothing but the deletion. */
  async stop(id: string, _reason: string): Promise<void> {
    if (this.ended.has(id)) return;
    await this.pods.start().catch((error: unknown) => Promise.reject(this.fail(error, "list the runs' pods")));
    const seen = this.pods.get(id);
    const phase = seen?.pod.status?.phase;
    if (seen && (seen.gone || phase === "Succeeded" || phase === "Failed")) return;
    try {
      // Foreground: the Job goes once its pod has; its Secret goes with it.
      await this.batch.deleteNamespacedJob({ name: id, namespace: this.settings.namespace, propagationPolicy: "Foreground" });
    } catch (error) {
      if (statusOf(error) !== 404) throw this.fail(error, "delete the run's Job");
      if (!seen) return;
    }
    const deadline = Date.now() + this.settings.stopTimeoutSeconds * 1000;
    for (;;) {
      const version = this.pods.version(id);
      const now = this.pods.get(id);
      if (!now || now.gone) return;
      if (Date.now() >= deadline) {
        throw new FerryError("unavailable", `the pod of ${id} is still there ${this.settings.stopTimeoutSeconds} s after its Job was deleted; Kubernetes may be unable to reach its node`);
      }
      await this.pods.changed(id, version, undefined, Math.min(deadline, Date.now() + 5000));
    }
  }

  async remove(id: string): Promise<void> {
    this.ended.delete(id);
    try {
      await this.batch.deleteNamespacedJob({ name: id, namespace: this.settings.namespace, propagationPolicy: "Background" });
    } catch (error) {
      if (statusOf(error) !== 404) throw this.fail(error, "delete the run's Job");
    }
    this.pods.forget(id);
  }

  async list(): Promise<RunnerInstance[]> {
    const labels = runnerLabels(this.settings.labelPrefix);
    const jobs = await this.batch
      .listNamespacedJob({ namespace: this.settings.namespace, labelSelector: `${labels.managed}=true` })
      .catch((error: unknown) => Promise.reject(this.fail(error, "list the runs' Jobs")));
    const out: RunnerInstance[] = [];
    for (const job of jobs.items) {
      const name = job.metadata!.name!;
      const annotations = job.metadata?.annotations ?? {};
      const phase = this.pods.get(name)?.pod.status?.phase;
      const running = !jobFinished(job) && !this.ended.has(name) && !job.metadata?.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed";
      out.push({ id: name, flowRunId: annotations[labels.flowRunId] ?? "", workspaceId: annotations[labels.workspaceId] ?? "", running, startedAt: iso(job.status?.startTime ?? job.metadata?.creationTimestamp) });
    }
    for (const [id, ended] of this.ended) {
      if (!out.some((i) => i.id === id)) out.push({ id, flowRunId: ended.flowRunId, workspaceId: ended.workspaceId, running: false, startedAt: ended.exit.startedAt });
    }
    return out;
  }

  /** Ends the watch (the server calls it when it stops). */
  async close(): Promise<void> {
    this.pods.close();
  }

  private async readJob(name: string): Promise<V1Job | null> {
    try {
      return await this.batch.readNamespacedJob({ name, namespace: this.settings.namespace });
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw this.fail(error, "read the run's Job");
    }
  }

  /** The pod's last lines, both streams as the kubelet keeps them; none when they cannot be read (the pod is gone). */
  private async tail(pod: string): Promise<string[]> {
    try {
      const text = await this.core.readNamespacedPodLog({ name: pod, namespace: this.settings.namespace, container: ENGINE_CONTAINER, tailLines: TAIL_LINES });
      const lines = String(text).split("\n");
      if (lines.at(-1) === "") lines.pop();
      return lines.slice(-TAIL_LINES);
    } catch {
      return [];
    }
  }
}

function iso(value: Date | string | undefined): string {
  if (value === undefined) return new Date().toISOString();
  return typeof value === "string" ? value : value.toISOString();
}
