import type { DispatcherLogger } from "./dispatcher.js";
import type { Metrics } from "./metrics.js";

export interface PeriodicSweepOptions {
  /** Names the dispatcher in logs and metrics. */
  dispatcher: "push" | "managed";
  intervalMs: number;
  logger: DispatcherLogger;
  metrics: Metrics;
}

/**
 * A dispatcher's safety net: every `intervalMs` it re-reads the dispatcher's pending work, so a lost
 * wake-up (a kick that threw, a notification from a process that died) delays a run by one interval
 * instead of leaving it waiting. One sweep at a time; a failed sweep is logged, counted and tried again
 * at the next interval, never dropped in silence.
 */
export class PeriodicSweep {
  private timer?: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private failures = 0;

  /** `sweep` returns how many runs it picked up that nothing was driving. */
  constructor(private readonly sweep: () => Promise<number>, private readonly options: PeriodicSweepOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Sweeps now (or joins the sweep under way); rejects when it fails. */
  now(): Promise<number> {
    this.running ??= this.sweep().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async tick(): Promise<void> {
    const { dispatcher, logger, metrics, intervalMs } = this.options;
    try {
      const picked = await this.now();
      if (this.failures) logger.info({ dispatcher, failures: this.failures }, "the dispatcher's sweep works again");
      this.failures = 0;
      if (picked) {
        metrics.sweepPickups.inc({ dispatcher }, picked);
        logger.info({ dispatcher, runs: picked }, "the sweep picked up runs nothing in this process was driving");
      }
    } catch (error) {
      this.failures++;
      metrics.sweepFailures.inc({ dispatcher });
      logger.error({ err: error, dispatcher, failures: this.failures }, `could not re-read the dispatcher's pending runs; trying again in ${intervalMs} ms`);
    }
  }
}
