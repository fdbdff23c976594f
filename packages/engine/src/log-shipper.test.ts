import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LogShipper, type LogEntry, type SendLogs } from "./log-shipper.js";

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
    // Lines that came while a call was in flight go together in the next one.
    expect(calls).toEqual(["line 1,line 2", "line 3,line 4,line 5"]);
  });

  it("splits a large backlog into calls the API takes", async () => {
    const shipper = new LogShipper(send, { intervalMs: 200, maxBatch: 10_000, maxPerCall: 1000 });
    for (let i = 0; i < 2500; i++) shipper.add(line(i));
    await shipper.flush();
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
  });

  it("counts and reports a batch that retrying cannot help, and goes on with the next", async () => {
    const dropped: number[] = [];
    let fail = true;
    const flaky = async (logs: LogEntry[]) => {
      if (fail) {
        fail = false;
        throw new Error("server down");
      }
      batches.push(logs);
    };
    const shipper = new LogShipper(flaky, { intervalMs: 200, maxBatch: 200, isRetryable: () => false, onDropped: (n) => dropped.push(n) });
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

class Unreachable extends Error {}
class Refused extends Error {}

/** A server that can be taken away and brought back; records what it took, in order. */
class FakeServer {
  up = true;
  received: LogEntry[] = [];
  calls = 0;
  refuse: (logs: LogEntry[]) => boolean = () => false;
  readonly send: SendLogs = async (logs) => {
    this.calls++;
    if (!this.up) throw new Unreachable("could not reach the Ferry server");
    if (this.refuse(logs)) throw new Refused("the server refused a line");
    this.received.push(...logs);
  };
  get messages(): string[] {
    return this.received.map((l) => l.message);
  }
}

const retryable = (e: unknown) => e instanceof Unreachable;
const aboutContent = (e: unknown) => e instanceof Refused;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

describe("LogShipper while the server is away", () => {
  let server: FakeServer;
  let spool: string;

  beforeEach(() => {
    server = new FakeServer();
    spool = mkdtempSync(join(tmpdir(), "ferry-log-spool-test-"));
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(spool, { recursive: true, force: true });
  });

  it("keeps trying with backoff for as long as it takes, and delivers every line in order when the server is back", async () => {
    const delays: number[] = [];
    const recovered: number[] = [];
    const shipper = new LogShipper(server.send, {
      intervalMs: 200, maxBatch: 50, isRetryable: retryable,
      onRetrying: (_e, _attempt, delay) => delays.push(delay),
      onRecovered: (failures) => recovered.push(failures),
    });
    server.up = false;
    for (let i = 0; i < 100; i++) shipper.add(line(i));
    // A minute away: far beyond the six attempts the engine used to make.
    for (let s = 0; s < 60; s++) {
      await vi.advanceTimersByTimeAsync(1000);
      shipper.add(line(100 + s));
    }
    expect(server.received).toEqual([]);
    expect(delays.slice(0, 7)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    server.up = true;
    await vi.advanceTimersByTimeAsync(5000);
    await shipper.flush();
    expect(server.messages).toEqual(range(0, 160));
    expect(recovered).toHaveLength(1);
    expect(shipper.dropped).toBe(0);
  });

  it("moves lines past the memory limit to the spool directory, and reads them back in order", async () => {
    const shipper = new LogShipper(server.send, {
      intervalMs: 200, maxBatch: 20, maxPerCall: 7, isRetryable: retryable,
      memoryLimitBytes: 2000, spoolDir: spool, spoolLimitBytes: 1024 * 1024,
    });
    server.up = false;
    for (let i = 0; i < 300; i++) shipper.add(line(i));
    await vi.advanceTimersByTimeAsync(1000);
    const folders = readdirSync(spool);
    expect(folders).toHaveLength(1);
    expect(readdirSync(join(spool, folders[0]!)).length).toBeGreaterThan(5);
    server.up = true;
    const done = shipper.close();
    await vi.advanceTimersByTimeAsync(5000);
    await done;
    expect(server.messages).toEqual(range(0, 300));
    expect(server.received.every((l, i) => i === 0 || l.source === "flow")).toBe(true);
    // The spool is gone with the shipper.
    expect(existsSync(join(spool, folders[0]!))).toBe(false);
  });

  it("drops what finds memory and disk full, and puts a marker line with the count where the lines were", async () => {
    const dropped: number[] = [];
    const shipper = new LogShipper(server.send, {
      intervalMs: 200, maxBatch: 1000, isRetryable: retryable,
      memoryLimitBytes: 1000, spoolDir: spool, spoolLimitBytes: 2000, onDropped: (n) => dropped.push(n),
    });
    server.up = false;
    for (let i = 0; i < 100; i++) shipper.add(line(i));
    await vi.advanceTimersByTimeAsync(1000);
    server.up = true;
    await vi.advanceTimersByTimeAsync(5000);
    await shipper.flush();
    // Room again: the next line brings the marker in before it.
    shipper.add(line(100));
    await shipper.close();
    const messages = server.messages;
    const marker = messages.findIndex((m) => /log lines were dropped here/.test(m));
    expect(marker).toBeGreaterThan(0);
    const kept = messages.slice(0, marker);
    expect(kept).toEqual(range(0, kept.length));
    const count = Number(/^(\d+) log lines were dropped here: the server could not be reached for a long time and the engine's log buffer \(1 KiB in memory, 2 KiB on disk\) was full$/.exec(messages[marker]!)?.[1]);
    expect(kept.length + count).toBe(100);
    expect(messages.slice(marker + 1)).toEqual(["line 100"]);
    expect(server.received[marker]).toMatchObject({ level: "warning", source: "engine", timestamp: line(kept.length).timestamp });
    expect(dropped).toEqual([count]);
    expect(shipper.dropped).toBe(count);
  });

  it("keeps lines in memory only without a spool directory, marking what it dropped at the end", async () => {
    const shipper = new LogShipper(server.send, { intervalMs: 200, maxBatch: 1000, isRetryable: retryable, memoryLimitBytes: 1000 });
    server.up = false;
    for (let i = 0; i < 50; i++) shipper.add(line(i));
    await vi.advanceTimersByTimeAsync(300);
    server.up = true;
    const done = shipper.close();
    await vi.advanceTimersByTimeAsync(5000);
    await done;
    const messages = server.messages;
    expect(messages.at(-1)).toMatch(/^\d+ log lines were dropped here/);
    expect(messages.slice(0, -1)).toEqual(range(0, messages.length - 1));
    expect(messages.length - 1 + shipper.dropped).toBe(50);
  });

  it("halves a batch the server refuses for what is in it, so only the line at fault is dropped", async () => {
    const dropped: number[] = [];
    server.refuse = (logs) => logs.some((l) => l.message === "line 13");
    const shipper = new LogShipper(server.send, { intervalMs: 200, maxBatch: 1000, isRetryable: retryable, isAboutContent: aboutContent, onDropped: (n) => dropped.push(n) });
    for (let i = 0; i < 40; i++) shipper.add(line(i));
    await shipper.flush();
    expect(server.messages).toEqual(range(0, 40).filter((m) => m !== "line 13"));
    expect(dropped).toEqual([1]);
  });

  it("sends a large backlog in calls of a bounded size in bytes", async () => {
    const sizes: number[] = [];
    const shipper = new LogShipper(async (logs) => void sizes.push(logs.length), { intervalMs: 200, maxBatch: 10_000, maxBytesPerCall: 10_000 });
    for (let i = 0; i < 30; i++) shipper.add({ ...line(i), message: "x".repeat(2000) });
    await shipper.flush();
    expect(sizes).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
  });

  it("gives up at close's deadline when the server stays away, and reports the lines as dropped", async () => {
    const dropped: number[] = [];
    const shipper = new LogShipper(server.send, { intervalMs: 200, maxBatch: 1000, isRetryable: retryable, onDropped: (n) => dropped.push(n) });
    server.up = false;
    for (let i = 0; i < 10; i++) shipper.add(line(i));
    let closed = false;
    const done = shipper.close(30_000).then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(29_000);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(dropped).toEqual([10]);
    expect(shipper.dropped).toBe(10);
    const calls = server.calls;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.calls).toBe(calls);
  });
});
