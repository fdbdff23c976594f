import type { Store } from "@ferry/core";

const CHANNEL = "ferry_run_events";

/**
 * Wakes whoever follows a run (an SSE stream, the dispatcher) when something happened to it. It carries
 * no data: a woken follower reads what is new from the store, so nothing is lost or reordered, and
 * several server processes on one PostgreSQL wake each other through LISTEN/NOTIFY.
 */
export class RunEventHub {
  private readonly waiters = new Map<string, Set<() => void>>();
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly pending = new Set<string>();
  private readonly versions = new Map<string, number>();
  private readonly watchers = new Set<(runId: string) => void>();

  constructor(private readonly store: Store, private readonly onError: (error: unknown) => void) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.store.subscribe(CHANNEL, (payload) => {
      for (const runId of payload.split(",")) this.wakeLocal(runId);
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
  }

  /**
   * Something was written for the run: wake local followers now, and other processes' through the
   * database. Notifications are coalesced per tick into few NOTIFYs (ids joined by commas), so a busy
   * server does not spend a round trip per event. The embedded store has one process only: no NOTIFY.
   */
  notify(runId: string): void {
    this.wakeLocal(runId);
    if (this.store.kind === "pglite") return;
    this.pending.add(runId);
    if (this.pending.size === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const ids = [...this.pending];
    this.pending.clear();
    // NOTIFY payloads are limited to 8000 bytes.
    for (let i = 0; i < ids.length; i += 200) {
      this.store.publish(CHANNEL, ids.slice(i, i + 200).join(",")).catch(this.onError);
    }
  }

  /** A counter that moves with every notification for the run: pass it to `wait` to miss none. */
  version(runId: string): number {
    let v = this.versions.get(runId);
    if (v === undefined) {
      // Bounded: forgetting counters only causes a spurious wake-up (a re-read), never a missed one.
      if (this.versions.size >= 10_000) this.versions.clear();
      this.versions.set(runId, (v = 0));
    }
    return v;
  }

  /**
   * Resolves at the next notification for the run, after `timeoutMs`, or when `signal` aborts; at once
   * when a notification came since `sinceVersion` (from `version`) was read.
   */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal, sinceVersion?: number): Promise<void> {
    if (sinceVersion !== undefined && (this.versions.get(runId) ?? 0) !== sinceVersion) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(runId);
      if (!set) this.waiters.set(runId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        const s = this.waiters.get(runId);
        s?.delete(done);
        if (s && s.size === 0) this.waiters.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }

  /**
   * Calls `watcher` with the id of every run something happened to (here or, on PostgreSQL, on another
   * server): what the workspace stream follows. Returns a function that stops it.
   */
  watchAll(watcher: (runId: string) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  private wakeLocal(runId: string): void {
    for (const watcher of this.watchers) watcher(runId);
    // Only runs someone follows have a counter (created by `version`).
    const v = this.versions.get(runId);
    if (v !== undefined) this.versions.set(runId, v + 1);
    const set = this.waiters.get(runId);
    if (set) for (const wake of [...set]) wake();
  }
}
