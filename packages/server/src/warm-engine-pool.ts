import { warmEngineFits, type RunnerLaunchSpec, type RunnerStarted, type RunnerWarmEngine, type RunnerWarmEngines, type RunnerWarmSpec } from "@ferry/core";
import type { DispatcherLogger } from "./dispatcher.js";

export interface WarmEnginePoolOptions {
  /** Warm engines kept per managed pool (FERRY_WARM_ENGINES); 0: none. */
  perPool: number;
  /** Warm engines in all on this server (FERRY_WARM_ENGINES_MAX). */
  max: number;
  /** After a failed prepare, a pool is not warmed again for this long (default 30 s). */
  retryAfterMs?: number;
  /**
   * A run that finds no warm engine while one for it is being prepared waits up to this long for it
   * (default 3000 ms): an engine half started is ready sooner than a cold start would be.
   */
  awaitPreparingMs?: number;
  /**
   * A taken engine is replaced this long after the take (default 1500 ms): starting an engine costs
   * CPU, which the run that just took one needs more on a busy machine.
   */
  refillDelayMs?: number;
  /**
   * How long `stop` waits for prepares under way, and for each backend call that ends an engine
   * (default 15 s): a server's close must end. A prepare that finishes later ends its engine itself.
   */
  stopWaitMs?: number;
  now?: () => number;
}

interface PoolEntry {
  workspaceId: string;
  /** What the pool's last run was launched with: the next one most likely fits the same. */
  spec: RunnerWarmSpec;
  engines: RunnerWarmEngine[];
  /** Prepares under way, counted against the limits so two fills never overshoot them. */
  preparing: number;
  /** The same prepares, for a run that would rather wait for one than start cold. */
  jobs: Set<Promise<void>>;
  failedAt: number | null;
}

/**
 * The managed dispatcher's warm engines, per managed pool: after a pool's run is launched, up to
 * `perPool` engines are prepared for runs like it (same workspace, image, packages' cache, limits),
 * within `max` on this server. A warm engine goes to one run of its own pool only and is replaced,
 * never reused; warm engines are not runs, so they count against no quota, concurrency or compute
 * time. Pools that are paused or deleted lose theirs; `stop` ends them all.
 */
export class WarmEnginePool {
  private readonly pools = new Map<string, PoolEntry>();
  private readonly filling = new Set<Promise<void>>();
  private readonly refills = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly warm: RunnerWarmEngines,
    private readonly logger: DispatcherLogger,
    private readonly options: WarmEnginePoolOptions,
  ) {}

  get enabled(): boolean {
    return this.options.perPool > 0 && this.options.max > 0;
  }

  /**
   * Hands the run a warm engine of its pool that fits it; null when there is none (or it failed), and
   * the run is to be started cold. Either way the pool is then warmed for runs like this one.
   */
  async take(poolId: string, spec: RunnerLaunchSpec): Promise<RunnerStarted | null> {
    if (!this.enabled || this.stopped) return null;
    const entry = this.pools.get(poolId);
    let started: RunnerStarted | null = null;
    const fits = (e: RunnerWarmEngine) => warmEngineFits(e.spec, spec);
    const mine = entry && entry.workspaceId === spec.workspaceId;
    let index = mine ? entry.engines.findIndex(fits) : -1;
    if (mine && index < 0 && entry.jobs.size > 0 && warmEngineFits(entry.spec, spec)) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.awaitPreparingMs ?? 3000)));
      await Promise.race([Promise.race([...entry.jobs]), bound]);
      clearTimeout(timer);
      index = entry.engines.findIndex(fits);
    }
    if (entry && index >= 0) {
      const [engine] = entry.engines.splice(index, 1);
      try {
        started = await this.warm.claim(engine!.id, spec);
      } catch (error) {
        // A warm engine that died or cannot take the run costs the run its head start, nothing more.
        this.logger.warn({ err: error, flow_run_id: spec.flowRunId, warm_engine: engine!.id }, "a warm engine could not take its run; starting the run cold");
        await this.warm.discard(engine!.id).catch(() => undefined);
        entry.failedAt = (this.options.now ?? Date.now)();
      }
    }
    const delay = started ? (this.options.refillDelayMs ?? 1500) : 0;
    if (delay <= 0) this.want(poolId, spec);
    else {
      const timer = setTimeout(() => {
        this.refills.delete(timer);
        this.want(poolId, spec);
      }, delay);
      timer.unref();
      this.refills.add(timer);
    }
    return started;
  }

  /** The warm engines of each pool, by pool id (for tests and logs). */
  snapshot(): Map<string, RunnerWarmEngine[]> {
    return new Map([...this.pools].map(([id, entry]) => [id, [...entry.engines]]));
  }

  /** Ids of the pools that have (or are getting) warm engines, with their workspace. */
  warmedPools(): { poolId: string; workspaceId: string }[] {
    return [...this.pools].map(([poolId, entry]) => ({ poolId, workspaceId: entry.workspaceId }));
  }

  /** A pool paused or deleted: its warm engines are ended, and no more are made until its next run. */
  async dropPool(poolId: string): Promise<void> {
    const entry = this.pools.get(poolId);
    if (!entry) return;
    this.pools.delete(poolId);
    await Promise.all(entry.engines.map((e) => this.discard(e)));
  }

  /** Forgets warm engines that ended on their own (killed, crashed) and makes their replacements. */
  async prune(): Promise<void> {
    if (this.stopped || this.pools.size === 0) return;
    const alive = new Set((await this.warm.list()).map((e) => e.id));
    for (const [poolId, entry] of this.pools) {
      const dead = entry.engines.filter((e) => !alive.has(e.id));
      if (!dead.length) continue;
      entry.engines = entry.engines.filter((e) => alive.has(e.id));
      for (const engine of dead) await this.discard(engine);
      // Engines that end while they wait (an engine image too old to wait for its run, say) would
      // otherwise be replaced at every sweep: leave the pool cold for a while, and say why.
      entry.failedAt = (this.options.now ?? Date.now)();
      this.logger.warn({ work_pool_id: poolId, ended: dead.length }, "warm engines ended while they waited for a run (is the engine image older than the server?); the pool's runs start cold for now");
    }
  }

  /**
   * Ends every warm engine, and waits for the prepares under way (whose engines are ended too), each
   * wait bounded by `stopWaitMs`: what a hung backend call leaves is logged, and ends with this process.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.refills) clearTimeout(timer);
    this.refills.clear();
    const bound = this.options.stopWaitMs ?? 15_000;
    if (!(await within(Promise.allSettled([...this.filling]), bound))) {
      this.logger.warn({ preparing: this.filling.size }, `warm engines still being prepared after ${bound} ms; each is ended when its prepare returns`);
    }
    const engines = [...this.pools.values()].flatMap((entry) => entry.engines);
    this.pools.clear();
    await Promise.all(engines.map((e) => this.discard(e)));
    // Whatever the backend still has of this process's (a prepare that raced the stop).
    const left = await within(this.warm.list().catch(() => []), bound);
    await Promise.all((left || []).map((e) => this.discard(e)));
  }

  private want(poolId: string, spec: RunnerLaunchSpec): void {
    if (this.stopped) return;
    const { flowRunId: _run, env: _env, ...wanted } = spec;
    let entry = this.pools.get(poolId);
    if (!entry || entry.workspaceId !== spec.workspaceId) {
      entry = { workspaceId: spec.workspaceId, spec: wanted, engines: [], preparing: 0, jobs: new Set(), failedAt: null };
      this.pools.set(poolId, entry);
    }
    if (!warmEngineFits(entry.spec, spec)) {
      // The pool's runs changed (packages, image, the tier's limits): engines for the old ones would only wait.
      entry.spec = wanted;
      entry.failedAt = null;
      const stale = entry.engines.filter((e) => !warmEngineFits(e.spec, spec));
      entry.engines = entry.engines.filter((e) => warmEngineFits(e.spec, spec));
      for (const engine of stale) void this.discard(engine);
    }
    this.fill(poolId);
  }

  private total(): number {
    let n = 0;
    for (const entry of this.pools.values()) n += entry.engines.length + entry.preparing;
    return n;
  }

  private fill(poolId: string): void {
    const entry = this.pools.get(poolId);
    if (!entry || this.stopped) return;
    const now = (this.options.now ?? Date.now)();
    if (entry.failedAt !== null && now - entry.failedAt < (this.options.retryAfterMs ?? 30_000)) return;
    while (entry.engines.length + entry.preparing < this.options.perPool && this.total() < this.options.max) {
      entry.preparing++;
      const spec = entry.spec;
      const job: Promise<void> = this.warm.prepare(spec).then(
        async (engine) => {
          entry.preparing--;
          // Dropped, stopped or changed meanwhile: the engine has no run to wait for.
          if (this.stopped || this.pools.get(poolId) !== entry || !warmEngineFits(entry.spec, { ...engine.spec, flowRunId: "", env: {} })) await this.discard(engine);
          else entry.engines.push(engine);
        },
        (error: unknown) => {
          entry.preparing--;
          entry.failedAt = (this.options.now ?? Date.now)();
          this.logger.warn({ err: error, work_pool_id: poolId }, "could not prepare a warm engine; the pool's runs start cold for now");
        },
      ).finally(() => {
        this.filling.delete(job);
        entry.jobs.delete(job);
      });
      this.filling.add(job);
      entry.jobs.add(job);
    }
  }

  private async discard(engine: RunnerWarmEngine): Promise<void> {
    const bound = this.options.stopWaitMs ?? 15_000;
    const ended = await within(
      this.warm.discard(engine.id).then(() => true, (error: unknown) => {
        this.logger.warn({ err: error, warm_engine: engine.id }, "could not end a warm engine");
        return true;
      }),
      bound,
    );
    if (!ended) this.logger.warn({ warm_engine: engine.id }, `ending a warm engine took more than ${bound} ms; left to finish on its own`);
  }
}

/** The promise's value, or false once `ms` passed first (the timer holds no process open). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
