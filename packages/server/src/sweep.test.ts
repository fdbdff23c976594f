import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Metrics } from "./metrics.js";
import { PeriodicSweep } from "./sweep.js";

class RecordingLogger {
  readonly lines: { level: string; obj: object; msg: string }[] = [];
  info(obj: object, msg: string) {
    this.lines.push({ level: "info", obj, msg });
  }
  warn(obj: object, msg: string) {
    this.lines.push({ level: "warn", obj, msg });
  }
  error(obj: object, msg: string) {
    this.lines.push({ level: "error", obj, msg });
  }
}

const counter = async (metrics: Metrics, name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels, v.value]);

describe("PeriodicSweep", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sweeps every interval; a failure is logged, counted and tried again at the next one", async () => {
    const logger = new RecordingLogger();
    const metrics = new Metrics();
    const outcomes: (() => Promise<number>)[] = [
      () => Promise.reject(new Error("connection reset")),
      () => Promise.resolve(2),
      () => Promise.resolve(0),
    ];
    let calls = 0;
    const sweep = new PeriodicSweep(() => outcomes[Math.min(calls++, outcomes.length - 1)]!(), { dispatcher: "push", intervalMs: 1000, logger, metrics });
    sweep.start();

    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(1);
    expect(logger.lines).toEqual([
      {
        level: "error",
        obj: { err: new Error("connection reset"), dispatcher: "push", failures: 1 },
        msg: "could not re-read the dispatcher's pending runs; trying again in 1000 ms",
      },
    ]);
    expect(await counter(metrics, "ferry_dispatch_sweep_failures_total")).toEqual([[{ dispatcher: "push" }, 1]]);

    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    expect(logger.lines.slice(1)).toEqual([
      { level: "info", obj: { dispatcher: "push", failures: 1 }, msg: "the dispatcher's sweep works again" },
      { level: "info", obj: { dispatcher: "push", runs: 2 }, msg: "the sweep picked up runs nothing in this process was driving" },
    ]);
    expect(await counter(metrics, "ferry_dispatch_sweep_pickups_total")).toEqual([[{ dispatcher: "push" }, 2]]);

    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(3);
    expect(logger.lines).toHaveLength(3);

    await sweep.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(3);
  });

  it("runs one sweep at a time: a call during a sweep joins it", async () => {
    let release!: (n: number) => void;
    let calls = 0;
    const sweep = new PeriodicSweep(
      () => {
        calls++;
        return new Promise<number>((resolve) => (release = resolve));
      },
      { dispatcher: "managed", intervalMs: 1000, logger: new RecordingLogger(), metrics: new Metrics() },
    );
    const a = sweep.now();
    const b = sweep.now();
    expect(calls).toBe(1);
    release(3);
    expect(await a).toBe(3);
    expect(await b).toBe(3);
    void sweep.now();
    expect(calls).toBe(2);
    release(0);
    await sweep.stop();
  });

  it("hands a direct caller the failure instead of logging it", async () => {
    const logger = new RecordingLogger();
    const sweep = new PeriodicSweep(() => Promise.reject(new Error("store closed")), { dispatcher: "push", intervalMs: 1000, logger, metrics: new Metrics() });
    await expect(sweep.now()).rejects.toThrow("store closed");
    expect(logger.lines).toEqual([]);
  });
});
