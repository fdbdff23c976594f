import { FerryError, warmEngineFits, type RunnerLaunchSpec, type RunnerWarmEngine, type RunnerWarmEngines, type RunnerWarmSpec } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { WarmEnginePool } from "./warm-engine-pool.js";

/** Warm engines in memory; `hold` keeps prepares pending until released. */
class MemoryWarmEngines implements RunnerWarmEngines {
  readonly engines = new Map<string, RunnerWarmSpec>();
  readonly claimed: { warmId: string; flowRunId: string }[] = [];
  readonly discarded: string[] = [];
  failPrepare = false;
  private held: (() => void)[] = [];
  hold = false;
  private n = 0;

  async prepare(spec: RunnerWarmSpec): Promise<RunnerWarmEngine> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failPrepare) throw new FerryError("internal", "no engine today");
    const id = `w${++this.n}`;
    this.engines.set(id, { ...spec });
    return { id, spec: { ...spec } };
  }

  async claim(warmId: string, spec: RunnerLaunchSpec) {
    const warm = this.engines.get(warmId);
    if (!warm) throw new FerryError("not_found", `no ${warmId}`);
    if (!warmEngineFits(warm, spec)) throw new FerryError("conflict", "another workspace's");
    this.engines.delete(warmId);
    this.claimed.push({ warmId, flowRunId: spec.flowRunId });
    return { id: spec.flowRunId, startedAt: new Date().toISOString() };
  }

  /** Discards never return (a backend call that hangs) until released. */
  hangDiscard = false;

  async discard(warmId: string) {
    if (this.hangDiscard) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.engines.delete(warmId)) this.discarded.push(warmId);
  }

  async list() {
    return [...this.engines].map(([id, spec]) => ({ id, spec }));
  }

  release(): void {
    for (const go of this.held.splice(0)) go();
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
let runs = 0;
const spec = (workspaceId = "ws-a", cacheKey = "k1"): RunnerLaunchSpec => ({
  flowRunId: `run-${++runs}`, workspaceId, image: "ferry-engine:latest", env: { FERRY_BOOTSTRAP_TOKEN: "t" }, memoryMib: 2048, cpus: 1, cacheKey,
});

describe("WarmEnginePool", () => {
  it("starts a pool's first run cold, then keeps FERRY_WARM_ENGINES engines ready that the next runs take, each once", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 2, max: 8, refillDelayMs: 0 });
    expect(await pool.take("pool-1", spec())).toBeNull();
    await settle();
    expect(backend.engines.size).toBe(2);
    const second = spec();
    expect(await pool.take("pool-1", second)).toMatchObject({ id: second.flowRunId });
    await settle();
    // Replaced, never reused: two ready again, and the claimed one is gone.
    expect(backend.engines.size).toBe(2);
    expect(backend.claimed).toHaveLength(1);
    expect(backend.engines.has(backend.claimed[0]!.warmId)).toBe(false);
  });

  it("never hands one pool's warm engine to another pool or workspace", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, refillDelayMs: 0 });
    await pool.take("pool-a", spec("ws-a"));
    await settle();
    expect(await pool.take("pool-b", spec("ws-b"))).toBeNull();
    // The same pool id with another workspace (which cannot happen with UUIDs) gets nothing either.
    expect(await pool.take("pool-a", spec("ws-b"))).toBeNull();
    expect(backend.claimed).toEqual([]);
  });

  it("replaces the engines of a pool whose runs changed (packages, image, limits)", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, refillDelayMs: 0 });
    await pool.take("p", spec("ws", "k1"));
    await settle();
    const [old] = [...backend.engines.keys()];
    expect(await pool.take("p", spec("ws", "k2"))).toBeNull();
    await settle();
    expect(backend.discarded).toEqual([old]);
    expect([...backend.engines.values()].map((s) => s.cacheKey)).toEqual(["k2"]);
  });

  it("keeps at most FERRY_WARM_ENGINES_MAX in all", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 2, max: 3, refillDelayMs: 0 });
    await pool.take("p1", spec("ws1"));
    await pool.take("p2", spec("ws2"));
    await settle();
    expect(backend.engines.size).toBe(3);
  });

  it("ends a dropped pool's engines, and on stop every engine, including one being prepared", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, refillDelayMs: 0 });
    await pool.take("p1", spec("ws1"));
    await settle();
    await pool.dropPool("p1");
    expect(backend.engines.size).toBe(0);
    backend.hold = true;
    await pool.take("p2", spec("ws2"));
    const stopping = pool.stop();
    backend.hold = false;
    backend.release();
    await stopping;
    expect(backend.engines.size).toBe(0);
    expect(await pool.take("p2", spec("ws2"))).toBeNull();
    await settle();
    expect(backend.engines.size).toBe(0);
  });

  it("stops within its bound when a prepare and a discard hang, and ends the late prepare's engine once it comes", async () => {
    const backend = new MemoryWarmEngines();
    const warnings: string[] = [];
    const logger = { ...quiet, warn: (_: unknown, message: string) => void warnings.push(message) };
    const pool = new WarmEnginePool(backend, logger, { perPool: 1, max: 8, refillDelayMs: 0, stopWaitMs: 200 });
    await pool.take("p1", spec("ws1"));
    await settle();
    expect(backend.engines.size).toBe(1);
    backend.hold = true;
    await pool.take("p2", spec("ws2"));
    backend.hangDiscard = true;
    const began = Date.now();
    await pool.stop();
    // Generous: only that it ended at all, not how fast (two bounds of 200 ms, on a loaded machine).
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(warnings.some((w) => /still being prepared/.test(w))).toBe(true);
    expect(warnings.some((w) => /took more than 200 ms/.test(w))).toBe(true);
    backend.hold = false;
    backend.hangDiscard = false;
    backend.release();
    await expect.poll(() => backend.engines.size).toBe(0);
    expect(backend.discarded).toHaveLength(2);
  });

  it("after a failed prepare, leaves the pool cold for a while instead of trying at every run", async () => {
    const backend = new MemoryWarmEngines();
    backend.failPrepare = true;
    let now = 0;
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, retryAfterMs: 30_000, now: () => now, refillDelayMs: 0 });
    await pool.take("p", spec());
    await settle();
    backend.failPrepare = false;
    await pool.take("p", spec());
    await settle();
    expect(backend.engines.size).toBe(0);
    now = 31_000;
    await pool.take("p", spec());
    await settle();
    expect(backend.engines.size).toBe(1);
  });

  it("starts cold when the warm engine died, and waits a while before warming the pool again", async () => {
    const backend = new MemoryWarmEngines();
    let now = 0;
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, retryAfterMs: 30_000, now: () => now, refillDelayMs: 0 });
    await pool.take("p", spec());
    await settle();
    backend.engines.clear(); // died on its own
    expect(await pool.take("p", spec())).toBeNull();
    await settle();
    expect(backend.engines.size).toBe(0);
    now = 31_000;
    await pool.take("p", spec());
    await settle();
    expect(backend.engines.size).toBe(1);
    backend.engines.clear();
    await pool.prune();
    await settle();
    expect(backend.engines.size).toBe(0);
    now = 62_000;
    await pool.take("p", spec());
    await settle();
    expect(backend.engines.size).toBe(1);
  });

  it("replaces a taken engine only after a pause, leaving the CPU to the run that took it", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, refillDelayMs: 300 });
    await pool.take("p", spec());
    await settle();
    expect(backend.engines.size).toBe(1);
    expect(await pool.take("p", spec())).not.toBeNull();
    await settle();
    expect(backend.engines.size).toBe(0);
    await expect.poll(() => backend.engines.size, { timeout: 5000 }).toBe(1);
    // A stop cancels a replacement not yet begun.
    expect(await pool.take("p", spec())).not.toBeNull();
    await pool.stop();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(backend.engines.size).toBe(0);
  });

  it("lets a run wait a little for an engine being prepared for it rather than start cold", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 1, max: 8, refillDelayMs: 0, awaitPreparingMs: 5000 });
    backend.hold = true;
    await pool.take("p", spec());
    const run = spec();
    const taking = pool.take("p", run);
    await settle();
    backend.hold = false;
    backend.release();
    expect(await taking).toMatchObject({ id: run.flowRunId });
  });

  it("does nothing with FERRY_WARM_ENGINES=0", async () => {
    const backend = new MemoryWarmEngines();
    const pool = new WarmEnginePool(backend, quiet, { perPool: 0, max: 8 });
    expect(pool.enabled).toBe(false);
    await pool.take("p", spec());
    await settle();
    expect(backend.engines.size).toBe(0);
  });
});
