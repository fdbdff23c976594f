import { Watch, type CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { statusOf } from "./kubernetes-errors.js";

export interface SeenPod {
  pod: V1Pod;
  /** It was deleted since (the state is its last). */
  gone: boolean;
}

/** The Job a pod belongs to, by its owner reference (the Job controller sets it). */
export function jobOfPod(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.kind === "Job")?.name;
}

/**
 * One watch of the runs' pods for the whole backend (not one request loop per run): a list, then a
 * watch from the list's resourceVersion, resumed from the last version seen when the stream ends, and a
 * new list when the server answers 410 Gone (that version is too old). Keeps each Job's pod's last state,
 * and wakes whoever waits on a Job when its pod changes.
 */
export class PodWatch {
  private readonly pods = new Map<string, SeenPod>();
  private readonly versions = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private running: Promise<void> | null = null;
  private resourceVersion = "";
  private request: AbortController | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private epoch = 0;
  /** How many times the pods were listed (the first time, and after each 410 Gone): for tests. */
  lists = 0;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly labelSelector: string,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Starts the watch once; resolves when the first list is in. */
  start(): Promise<void> {
    this.running ??= this.list().catch((error: unknown) => {
      this.running = null;
      throw error;
    });
    return this.running;
  }

  get(job: string): SeenPod | undefined {
    return this.pods.get(job);
  }

  forget(job: string): void {
    this.pods.delete(job);
    this.versions.delete(job);
  }

  /** A number that changes whenever what is known about `job` may have changed. */
  version(job: string): number {
    return this.epoch + (this.versions.get(job) ?? 0);
  }

  /** Resolves once `version(job)` differs from `seen`, at `until` (ms since the epoch), or rejects when `signal` aborts. */
  changed(job: string, seen: number, signal?: AbortSignal, until?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (error?: unknown) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        signal?.removeEventListener("abort", aborted);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = () => {
        if (this.version(job) !== seen) done();
      };
      const aborted = () => done(signal?.reason ?? new Error("aborted"));
      if (signal?.aborted) return aborted();
      signal?.addEventListener("abort", aborted, { once: true });
      if (until !== undefined) timer = setTimeout(() => done(), Math.max(0, until - Date.now()));
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.request?.abort();
  }

  private notify(job?: string): void {
    if (job === undefined) this.epoch++;
    else this.versions.set(job, (this.versions.get(job) ?? 0) + 1);
    for (const waiter of [...this.waiters]) waiter();
  }

  private async list(): Promise<void> {
    const list = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector });
    this.lists++;
    const present = new Set<string>();
    for (const pod of list.items) {
      const job = jobOfPod(pod);
      if (!job) continue;
      present.add(job);
      this.pods.set(job, { pod, gone: false });
    }
    // Deleted while no watch saw it: its last known state stands.
    for (const [job, seen] of this.pods) if (!present.has(job) && !seen.gone) this.pods.set(job, { ...seen, gone: true });
    this.resourceVersion = list.metadata?.resourceVersion ?? "";
    this.notify();
    void this.watch();
  }

  private async watch(): Promise<void> {
    if (this.closed) return;
    let gone = false;
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
    const query = { labelSelector: this.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true };
    this.request = await new Watch(this.kubeConfig).watch(
      path,
      query,
      (type: string, object: V1Pod & { code?: number }) => {
        if (type === "ERROR") {
          if (object.code === 410) gone = true;
          this.request?.abort();
          return;
        }
        const version = object.metadata?.resourceVersion;
        if (version) this.resourceVersion = version;
        if (type === "BOOKMARK") return;
        const job = jobOfPod(object);
        if (!job) return;
        this.pods.set(job, { pod: object, gone: type === "DELETED" });
        this.notify(job);
      },
      (error: unknown) => {
        if (this.closed) return;
        if (gone || statusOf(error) === 410) {
          // The version is too old to resume from: list again (which starts a new watch).
          this.again(() => this.list(), 0);
        } else if (error && (error as Error).name !== "AbortError" && (error as Error).name !== "TimeoutError") {
          // (The client ends a watch quiet for 30 s with a TimeoutError: a quiet namespace, resumed below.)
          this.onError(error);
          this.again(() => this.watch(), 1000);
        } else {
          this.again(() => this.watch(), 0);
        }
      },
    );
  }

  private again(step: () => Promise<void>, delayMs: number): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      step().catch((error: unknown) => {
        this.onError(error);
        if (!this.closed) this.again(() => this.list(), 1000);
      });
    }, delayMs);
  }
}
