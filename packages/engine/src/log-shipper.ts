import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LogLevel } from "@ferry/core";

export type LogSource = "flow" | "engine";

export interface LogEntry {
  level: LogLevel;
  message: string;
  timestamp: string;
  source: LogSource;
}

/** Delivers one batch, once: the shipper retries what `isRetryable` says is worth it. */
export type SendLogs = (logs: LogEntry[]) => Promise<void>;

export interface LogShipperOptions {
  /** A line waits at most this long before it is sent. */
  intervalMs: number;
  /** A batch is sent at once when this many lines wait. */
  maxBatch: number;
  /** The API takes at most this many lines a call. Default 1000. */
  maxPerCall?: number;
  /** A call carries about this many bytes at most (a single longer line goes alone). Default 1 MiB. */
  maxBytesPerCall?: number;
  /**
   * Lines waiting while the server is away are held in memory up to about this many bytes, then
   * written to `spoolDir`. The oldest lines read back from it take as much memory again. Default 4 MiB.
   */
  memoryLimitBytes?: number;
  /** Where waiting lines beyond the memory limit go (the run's scratch space); null keeps them in memory only. */
  spoolDir?: string | null;
  /** Bytes of lines the spool holds at most; lines beyond it are dropped and a marker says how many. Default 64 MiB. */
  spoolLimitBytes?: number;
  /** Backoff between attempts at one batch: doubles from the first delay up to the last. Default 250 ms to 5 s. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Whether a failed call may succeed later (the server is away or busy). Default: every failure. */
  isRetryable?: (error: unknown) => boolean;
  /**
   * Whether a failed call may be about the lines themselves (one the server cannot take, a body too
   * large): then the batch is halved until the line at fault is found, and only it is dropped.
   */
  isAboutContent?: (error: unknown) => boolean;
  /** Called when lines could not be delivered and were dropped. */
  onDropped?: (count: number, error: unknown) => void;
  /** Called when a call failed and will be tried again (`attempt` counts from 1), and once it succeeded after that. */
  onRetrying?: (error: unknown, attempt: number, delayMs: number, waiting: number) => void;
  onRecovered?: (failedAttempts: number, waiting: number) => void;
}

/**
 * Collects log lines and sends them in batches: every `intervalMs`, or as soon as `maxBatch` wait,
 * one call at a time so lines arrive in order. While the server cannot be reached, each batch is
 * tried again with backoff for as long as the run goes on; the lines behind it wait in memory, then
 * on disk, both bounded: a line that finds both full is dropped, and a marker line in its place says
 * how many were. `close()` gives the last lines a bounded time before the engine reports its final
 * state.
 */
export class LogShipper {
  private readonly buffer: LogBuffer;
  private readonly perCall: number;
  private readonly bytesPerCall: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private pumping = false;
  /** Lines accepted into the buffer, markers included; lines taken from it; lines delivered or dropped. */
  private accepted = 0;
  private taken = 0;
  private done = 0;
  /** The pump sends lines up to this count: set by the interval, a full batch, or `flush()`. */
  private target = 0;
  private waiters: { upTo: number; resolve: () => void }[] = [];
  /** Lines refused since the buffer filled, not yet marked. */
  private overflow = 0;
  private overflowSince: string | null = null;
  private abandoned: Error | null = null;
  private wakeRetry: (() => void) | null = null;
  private droppedCount = 0;
  private sentCount = 0;

  constructor(
    private readonly send: SendLogs,
    private readonly options: LogShipperOptions,
  ) {
    this.perCall = options.maxPerCall ?? 1000;
    this.bytesPerCall = options.maxBytesPerCall ?? 1024 * 1024;
    this.buffer = new LogBuffer(options.memoryLimitBytes ?? 4 * 1024 * 1024, options.spoolDir ?? null, options.spoolLimitBytes ?? 64 * 1024 * 1024);
  }

  /** Lines that were not delivered: refused by the server, dropped when the buffer was full, or left at `close()`'s deadline. */
  get dropped(): number {
    return this.droppedCount;
  }

  get sent(): number {
    return this.sentCount;
  }

  /** Lines accepted and not yet delivered (or dropped). */
  get waiting(): number {
    return this.accepted - this.done;
  }

  add(entry: LogEntry): void {
    if (this.closed || this.abandoned) return;
    if (this.overflow > 0) {
      if (!this.buffer.push(this.overflowMarker())) return this.refuse(entry);
      this.markOverflow();
    }
    if (!this.buffer.push(entry)) return this.refuse(entry);
    this.accepted++;
    if (this.accepted - this.target >= this.options.maxBatch) {
      this.kick();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.options.intervalMs);
    }
  }

  /** Sends what is queued now; resolves when it (and everything before it) is delivered or dropped. */
  flush(): Promise<void> {
    this.kick();
    if (this.done >= this.target) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo: this.target, resolve }));
  }

  /**
   * Flushes and stops accepting lines. With `timeoutMs`, lines not delivered by then (the server still
   * away) are dropped and reported, so the engine can go on to report the run's final state.
   */
  async close(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.overflow > 0) {
      // The end of the run: the marker goes in even over the bound.
      this.buffer.push(this.overflowMarker(), true);
      this.markOverflow();
    }
    this.closed = true;
    // The run has ended: no waiting out a long backoff for a server that may be back already.
    this.wakeRetry?.();
    const flushed = this.flush();
    if (Number.isFinite(timeoutMs)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"deadline">((resolve) => (timer = setTimeout(() => resolve("deadline"), timeoutMs)));
      const first = await Promise.race([flushed.then(() => "flushed" as const), deadline]);
      clearTimeout(timer);
      if (first === "deadline") this.abandon(new Error(`the server could not take them within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} of the run's end`));
    } else {
      await flushed;
    }
    this.buffer.dispose();
  }

  private refuse(entry: LogEntry): void {
    if (this.overflow === 0) this.overflowSince = entry.timestamp;
    this.overflow++;
    this.droppedCount++;
  }

  /** The marker is in the buffer: the lines it stands for are reported. */
  private markOverflow(): void {
    this.accepted++;
    this.options.onDropped?.(this.overflow, new Error("the server could not be reached and the log buffer was full"));
    this.overflow = 0;
  }

  private overflowMarker(): LogEntry {
    const n = this.overflow;
    return {
      level: "warning",
      source: "engine",
      timestamp: this.overflowSince ?? new Date().toISOString(),
      message: `${n} log line${n === 1 ? " was" : "s were"} dropped here: the server could not be reached for a long time and the engine's log buffer (${describeBytes(this.buffer.memoryLimit)} in memory, ${describeBytes(this.buffer.spoolLimit)} on disk) was full`,
    };
  }

  /** Gives up on every line not delivered yet: they are counted and reported as dropped. */
  private abandon(reason: Error): void {
    this.abandoned = reason;
    const left = this.accepted - this.done;
    const inBuffer = this.buffer.clear();
    this.taken += inBuffer;
    // What is in flight now is counted here, and not again when its call ends.
    this.done = this.accepted;
    this.droppedCount += left;
    if (left > 0) this.options.onDropped?.(left, reason);
    this.wakeRetry?.();
    this.resolveWaiters();
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.target = this.accepted;
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.abandoned && this.taken < this.target) {
        const batch = this.buffer.take(Math.min(this.perCall, this.target - this.taken), this.bytesPerCall);
        if (batch.length === 0) break;
        this.taken += batch.length;
        await this.deliver(batch);
        if (this.abandoned) break;
        this.done += batch.length;
        this.resolveWaiters();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Sends one batch, trying again while the failure may pass; never rejects. */
  private async deliver(batch: LogEntry[]): Promise<void> {
    for (let failures = 0; ; ) {
      try {
        await this.send(batch);
        if (this.abandoned) return;
        this.sentCount += batch.length;
        if (failures > 0) this.options.onRecovered?.(failures, this.accepted - this.done);
        return;
      } catch (error) {
        if (this.abandoned) return;
        if (this.options.isRetryable?.(error) ?? true) {
          failures++;
          const base = this.options.retryBaseDelayMs ?? 250;
          const delay = Math.min(this.options.retryMaxDelayMs ?? 5000, base * 2 ** Math.min(failures - 1, 20));
          this.options.onRetrying?.(error, failures, delay, this.accepted - this.done);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            this.wakeRetry = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wakeRetry = null;
          if (this.abandoned) return;
          continue;
        }
        if (batch.length > 1 && this.options.isAboutContent?.(error)) {
          const half = Math.ceil(batch.length / 2);
          await this.deliver(batch.slice(0, half));
          await this.deliver(batch.slice(half));
          return;
        }
        this.droppedCount += batch.length;
        this.options.onDropped?.(batch.length, error);
        return;
      }
    }
  }

  private resolveWaiters(): void {
    const ready = this.waiters.filter((w) => w.upTo <= this.done);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.upTo > this.done);
    for (const w of ready) w.resolve();
  }
}

/** A line's size as the buffer and the batches count it: its JSON, near enough. */
function entryBytes(entry: LogEntry): number {
  return Buffer.byteLength(entry.message) + 96;
}

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * The lines waiting to be sent, oldest first: `head` (being sent), the spooled segments (on disk, in
 * the order written), then `tail` (the newest). The tail is spilled to a new segment when it passes
 * the memory limit; a segment is read back whole once the head is empty. So memory holds at most
 * about twice the limit, and the spool at most its own.
 */
class LogBuffer {
  private head: LogEntry[] = [];
  private headIndex = 0;
  private tail: LogEntry[] = [];
  private tailBytes = 0;
  private segments: { file: string; count: number; bytes: number }[] = [];
  private spoolBytes = 0;
  private spoolFolder: string | null = null;
  private segmentSeq = 0;
  /** Set once writing to the spool failed (no space, a read-only disk): memory only from then on. */
  private spoolBroken = false;

  constructor(
    readonly memoryLimit: number,
    private readonly spoolDir: string | null,
    readonly spoolLimit: number,
  ) {}

  /** Appends a line; false when there is no room for it, in memory or on disk. `force` takes it anyway. */
  push(entry: LogEntry, force = false): boolean {
    const size = entryBytes(entry);
    if (!force && this.tailBytes + size > this.memoryLimit && this.tail.length > 0) {
      if (!this.spill()) return false;
    }
    this.tail.push(entry);
    this.tailBytes += size;
    return true;
  }

  /** Removes and returns up to `maxCount` of the oldest lines, about `maxBytes` at most (one line at least). */
  take(maxCount: number, maxBytes: number): LogEntry[] {
    if (this.headIndex >= this.head.length) this.refillHead();
    const out: LogEntry[] = [];
    let bytes = 0;
    while (out.length < maxCount && this.headIndex < this.head.length) {
      const entry = this.head[this.headIndex]!;
      const size = entryBytes(entry);
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(entry);
      bytes += size;
      this.headIndex++;
    }
    return out;
  }

  /** Empties the buffer; returns how many lines it held. */
  clear(): number {
    const count = this.head.length - this.headIndex + this.segments.reduce((n, s) => n + s.count, 0) + this.tail.length;
    this.head = [];
    this.headIndex = 0;
    this.tail = [];
    this.tailBytes = 0;
    this.dispose();
    return count;
  }

  dispose(): void {
    this.segments = [];
    this.spoolBytes = 0;
    if (this.spoolFolder) rmSync(this.spoolFolder, { recursive: true, force: true });
    this.spoolFolder = null;
  }

  private refillHead(): void {
    this.head = [];
    this.headIndex = 0;
    const segment = this.segments.shift();
    if (segment) {
      this.spoolBytes -= segment.bytes;
      const text = readFileSync(segment.file, "utf8");
      rmSync(segment.file, { force: true });
      this.head = text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as LogEntry);
      return;
    }
    this.head = this.tail;
    this.tail = [];
    this.tailBytes = 0;
  }

  /** Writes the tail to a new segment; false when the spool has no room (or no disk). */
  private spill(): boolean {
    if (!this.spoolDir || this.spoolBroken) return false;
    const text = this.tail.map((e) => `${JSON.stringify(e)}\n`).join("");
    const bytes = Buffer.byteLength(text);
    if (this.spoolBytes + bytes > this.spoolLimit) return false;
    try {
      if (!this.spoolFolder) {
        mkdirSync(this.spoolDir, { recursive: true });
        this.spoolFolder = mkdtempSync(join(this.spoolDir, "ferry-log-spool-"));
      }
      const file = join(this.spoolFolder, `${String(++this.segmentSeq).padStart(8, "0")}.jsonl`);
      appendFileSync(file, text);
      this.segments.push({ file, count: this.tail.length, bytes });
    } catch {
      this.spoolBroken = true;
      return false;
    }
    this.spoolBytes += bytes;
    this.tail = [];
    this.tailBytes = 0;
    return true;
  }
}
