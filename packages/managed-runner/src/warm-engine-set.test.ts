import { describe, expect, it } from "vitest";
import type { RunnerLaunchSpec, RunnerStarted, RunnerWarmSpec } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { WarmEngineSet, type WarmEngineHandle } from "./warm-engine-set.js";

const SPEC: RunnerWarmSpec = { workspaceId: "ws-1", image: "ferry-engine:latest", cacheKey: "k1", memoryMib: 512, cpus: 1 };
const run = (flowRunId: string, over: Partial<RunnerLaunchSpec> = {}): RunnerLaunchSpec => ({ ...SPEC, flowRunId, env: { A: "1" }, ...over });

/** A backend whose engines are records in memory: what the set decides is all there is to see. */
class MemoryWarmEngines extends WarmEngineSet<WarmEngineHandle> {
  readonly started: string[] = [];
  readonly ended: string[] = [];
  readonly handed: { warmId: string; flowRunId: string }[] = [];
  sweeps = 0;
  failSweep = false;
  /** Runs that have an instance already: a claim returns it and the engine stays. */
  readonly existing = new Map<string, RunnerStarted>();
  endAtStart = false;
  private readonly handles = new Map<string, WarmEngineHandle>();

  protected async start(id: string, spec: RunnerWarmSpec): Promise<WarmEngineHandle> {
    await new Promise((resolve) => setImmediate(resolve));
    this.started.push(id);
    const handle = { id, spec, ended: this.endAtStart };
    this.handles.set(id, handle);
    return handle;
  }

  protected async handOver(warm: WarmEngineHandle, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const existing = this.existing.get(spec.flowRunId);
    if (existing) return existing;
    this.forget(warm.id);
    this.handed.push({ warmId: warm.id, flowRunId: spec.flowRunId });
    return { id: `instance-of-${warm.id}`, startedAt: "2026-01-01T00:00:00.000Z" };
  }

  protected async end(warm: WarmEngineHandle): Promise<void> {
    this.ended.push(warm.id);
  }

  protected async removeLeftovers(): Promise<void> {
    this.sweeps++;
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failSweep) throw new Error("cannot list");
  }

  /** What a backend does when an engine goes away on its own (its process exited, its stream closed). */
  endOnItsOwn(id: string, forget: boolean): void {
    this.handles.get(id)!.ended = true;
    if (forget) this.forget(id);
  }
}

describe("WarmEngineSet: the bookkeeping shared by the backends' warm engines", () => {
  it("prepares engines with distinct warm- ids, lists them with a copy of their spec, and removes leftovers once for overlapping prepares", async () => {
    const set = new MemoryWarmEngines();
    const [a, b] = await Promise.all([set.prepare(SPEC), set.prepare(SPEC)]);
    expect(a.id).toMatch(/^warm-[0-9a-f]{16}$/);
    expect(b.id).not.toBe(a.id);
    expect(set.sweeps).toBe(1);
    await set.prepare(SPEC);
    expect(set.sweeps).toBe(1);
    const listed = await set.list();
    expect(listed.map((e) => e.id).sort()).toEqual(set.started.slice().sort());
    listed[0]!.spec.memoryMib = 1;
    expect((await set.list()).every((e) => e.spec.memoryMib === 512)).toBe(true);
  });

  it("rejects a spec no backend could launch before starting anything", async () => {
    const set = new MemoryWarmEngines();
    const error = await rejection(set.prepare({ ...SPEC, cacheKey: "../escape" }));
    expect(error.code).toBe("validation_failed");
    expect(set.started).toEqual([]);
  });

  it("surfaces a failed sweep, and tries it again at the next prepare", async () => {
    const set = new MemoryWarmEngines();
    set.failSweep = true;
    await expect(set.prepare(SPEC)).rejects.toThrow(/cannot list/);
    set.failSweep = false;
    await set.prepare(SPEC);
    expect(set.sweeps).toBe(2);
    expect(set.started).toHaveLength(1);
  });

  it("hands an engine one run that fits it; the engine is then gone, and claiming it again is not_found", async () => {
    const set = new MemoryWarmEngines();
    const engine = await set.prepare(SPEC);
    expect(await set.claim(engine.id, run("run-1"))).toEqual({ id: `instance-of-${engine.id}`, startedAt: "2026-01-01T00:00:00.000Z" });
    expect(set.handed).toEqual([{ warmId: engine.id, flowRunId: "run-1" }]);
    expect(await set.list()).toEqual([]);
    const again = await rejection(set.claim(engine.id, run("run-2")));
    expect(again.code).toBe("not_found");
    expect(again.message).toMatch(/start the run instead/);
  });

  it("refuses (conflict) a run of another workspace, image, cache or limits, and keeps the engine", async () => {
    const set = new MemoryWarmEngines();
    const engine = await set.prepare(SPEC);
    for (const over of [{ workspaceId: "ws-2" }, { image: "other:1" }, { cacheKey: "k2" }, { memoryMib: 1024 }, { cpus: 2 }]) {
      expect((await rejection(set.claim(engine.id, run("run-x", over)))).code).toBe("conflict");
    }
    expect(set.handed).toEqual([]);
    expect((await set.list()).map((e) => e.id)).toEqual([engine.id]);
  });

  it("keeps the engine when the run had an instance already, and returns that instance", async () => {
    const set = new MemoryWarmEngines();
    const engine = await set.prepare(SPEC);
    set.existing.set("run-1", { id: "already", startedAt: "2026-01-02T00:00:00.000Z" });
    expect((await set.claim(engine.id, run("run-1"))).id).toBe("already");
    expect((await set.list()).map((e) => e.id)).toEqual([engine.id]);
  });

  it("neither lists nor hands over an engine that ended on its own, whether or not its backend forgot it", async () => {
    const set = new MemoryWarmEngines();
    const kept = await set.prepare(SPEC);
    const forgotten = await set.prepare(SPEC);
    set.endOnItsOwn(kept.id, false);
    set.endOnItsOwn(forgotten.id, true);
    expect(await set.list()).toEqual([]);
    expect((await rejection(set.claim(kept.id, run("run-1")))).code).toBe("not_found");
    expect((await rejection(set.claim(forgotten.id, run("run-1")))).code).toBe("not_found");
    expect(set.handed).toEqual([]);
  });

  it("does not keep an engine that ended while it started", async () => {
    const set = new MemoryWarmEngines();
    set.endAtStart = true;
    const engine = await set.prepare(SPEC);
    expect(await set.list()).toEqual([]);
    expect((await rejection(set.claim(engine.id, run("run-1")))).code).toBe("not_found");
  });

  it("discards an engine once: ended and forgotten; an unknown id is nothing to discard", async () => {
    const set = new MemoryWarmEngines();
    const engine = await set.prepare(SPEC);
    await set.discard(engine.id);
    await set.discard(engine.id);
    await set.discard("warm-unknown");
    expect(set.ended).toEqual([engine.id]);
    expect(await set.list()).toEqual([]);
    expect((await rejection(set.claim(engine.id, run("run-1")))).code).toBe("not_found");
  });
});
