import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LogShipper, type LogEntry } from "./log-shipper.js";

const line = (n: number): LogEntry => ({ level: "info", message: `line ${n}`, timestamp: "2026-01-01T00:00:00.000Z", source: "flow" });

describe("LogShipper", () => {
  let batches: LogEntry[][];
  const send = async (logs: LogEntry[]) => {
    batches.push(logs);
  };

  beforeEach(() => {
    batches = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends what waits after the interval, in one batch", async () => {
    const shipper = new LogShipper(send, { intervalMs: 200, maxBatch: 200 });
    shipper.add(line(1));
    shipper.add(line(2));
    await vi.advanceTimersByTimeAsync(199);
    expect(batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[line(1), line(2)]]);
  });

  it("sends at once when a batch is full, without waiting for the interval", async () => {
    const shipper = new LogShipper(send, { intervalMs: 200, maxBatch: 3 });
    for (let i = 1; i <= 4; i++) shipper.add(line(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[line(1), line(2), line(3)]]);
    await vi.advanceTimersByTimeAsync(200);
    expect(batches).toEqual([[line(1), line(2), line(3)], [line(4)]]);
  });

  it("flush resolves only once everything added before it is delivered, in order, one call at a time", async () => {
    const calls: string[] = [];
    let inFlight = 0;
    const slow = async (logs: LogEntry[]) => {
      inFlight++;
      expect(inFlight).toBe(1);
      calls.push(logs.map((l) => l.message).join(","));
      await new Promise((r) => setTimeout(r, 50));
      inFlight--;
    };
    const shipper = new LogShipper(slow, { intervalMs: 200, maxBatch: 2 });
    for (let i = 1; i <= 5; i++) shipper.add(line(i));
    let done = false;
    const flushed = shipper.flush().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(60);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    await flushed;
    expect(calls).toEqual(["line 1,line 2", "line 3,line 4", "line 5"]);
  });

  it("splits a large backlog into calls the API takes", async () => {
    const shipper = new LogShipper(send, { intervalMs: 200, maxBatch: 10_000, maxPerCall: 1000 });
    for (let i = 0; i < 2500; i++) shipper.add(line(i));
    await shipper.flush();
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
  });

  it("counts and reports a batch it could not deliver, and goes on with the next", async () => {
    const dropped: number[] = [];
    let fail = true;
    const flaky = async (logs: LogEntry[]) => {
      if (fail) {
        fail = false;
        throw new Error("server down");
      }
      batches.push(logs);
    };
    const shipper = new LogShipper(flaky, { intervalMs: 200, maxBatch: 200, onDropped: (n) => dropped.push(n) });
    shipper.add(line(1));
    await shipper.flush();
    shipper.add(line(2));
    await shipper.flush();
    expect(dropped).toEqual([1]);
    expect(shipper.dropped).toBe(1);
    expect(shipper.sent).toBe(1);
    expect(batches).toEqual([[line(2)]]);
  });

  it("takes no more lines once closed", async () => {
    const shipper = new LogShipper(send, { intervalMs: 200, maxBatch: 200 });
    shipper.add(line(1));
    await shipper.close();
    shipper.add(line(2));
    await vi.advanceTimersByTimeAsync(1000);
    expect(batches).toEqual([[line(1)]]);
  });
});
