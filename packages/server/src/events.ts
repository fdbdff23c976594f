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

  constructor(private readonly store: Store, private readonly onError: (error: unknown) => void) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.store.subscribe(CHANNEL, (runId) => this.wakeLocal(runId));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
  }

  /** Something was written for the run: wake local followers now, and other processes' through the database. */
  notify(runId: string): void {
    this.wakeLocal(runId);
    this.store.publish(CHANNEL, runId).catch(this.onError);
  }

  /** Resolves at the next notification for the run, after `timeoutMs`, or when `signal` aborts. */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
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

  private wakeLocal(runId: string): void {
    const set = this.waiters.get(runId);
    if (set) for (const wake of [...set]) wake();
  }
}
