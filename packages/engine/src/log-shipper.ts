import type { LogLevel } from "@ferry/core";

export type LogSource = "flow" | "engine";

export interface LogEntry {
  level: LogLevel;
  message: string;
  timestamp: string;
  source: LogSource;
}

/** Delivers one batch; retries (if any) are its business. A rejection drops the batch. */
export type SendLogs = (logs: LogEntry[]) => Promise<void>;

export interface LogShipperOptions {
  /** A line waits at most this long before it is sent. */
  intervalMs: number;
  /** A batch is sent at once when this many lines wait. */
  maxBatch: number;
  /** The API takes at most this many lines a call. */
  maxPerCall?: number;
  /** Called when a batch could not be delivered and was dropped. */
  onDropped?: (count: number, error: unknown) => void;
}

/**
 * Collects log lines and sends them in batches: every `intervalMs`, or as soon as `maxBatch` wait,
 * one call at a time so lines arrive in order. `flush()` resolves once every line added before it was
 * sent (or dropped), which the engine awaits before it reports a final state.
 */
export class LogShipper {
  private queue: LogEntry[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private droppedCount = 0;
  private sentCount = 0;

  constructor(
    private readonly send: SendLogs,
    private readonly options: LogShipperOptions,
  ) {}

  get dropped(): number {
    return this.droppedCount;
  }

  get sent(): number {
    return this.sentCount;
  }

  add(entry: LogEntry): void {
    if (this.closed) return;
    this.queue.push(entry);
    if (this.queue.length >= this.options.maxBatch) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.options.intervalMs);
    }
  }

  /** Sends what is queued now; resolves when it (and everything before it) is delivered or dropped. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return this.chain;
    const perCall = this.options.maxPerCall ?? 1000;
    this.chain = this.chain.then(async () => {
      for (let i = 0; i < batch.length; i += perCall) {
        const part = batch.slice(i, i + perCall);
        try {
          await this.send(part);
          this.sentCount += part.length;
        } catch (error) {
          this.droppedCount += part.length;
          this.options.onDropped?.(part.length, error);
        }
      }
    });
    return this.chain;
  }

  /** Flushes and stops accepting lines. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}
