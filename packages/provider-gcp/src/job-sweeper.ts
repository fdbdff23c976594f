import { BoundedMap, silentLogger, type ProviderLogger } from "@ferry/provider-kit";

export interface JobSweeperOptions<T> {
  /** How often the runs still going are looked at. */
  intervalMs: number;
  /** Reads a run's status (deleting its job when it ended); true when there is nothing left to do. */
  check: (run: T) => Promise<boolean>;
  /** How long a run is looked after at most (its timeout and then some): a run never seen to end is let go. */
  maxAgeMs: (run: T) => number;
  logger?: ProviderLogger;
  now?: () => number;
  maxTracked?: number;
}

/**
 * Deletes the jobs of runs that ended while nobody asked. The server stops following a run once its
 * engine reported a final state, which is usually just before Cloud Run sees the container exit: the
 * status read that would delete the job never comes. The provider hands each run it saw going to the
 * sweeper, which reads it again every `intervalMs` until it ended. In memory only: after a restart, a
 * run's job is deleted when the server reads its status again (or stays, like a job kept with keep_job).
 */
export class JobSweeper<T> {
  private readonly runs: BoundedMap<string, { run: T; since: number }>;
  private readonly logger: ProviderLogger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly options: JobSweeperOptions<T>) {
    this.runs = new BoundedMap(options.maxTracked ?? 5000);
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  track(id: string, run: T): void {
    const known = this.runs.get(id);
    this.runs.set(id, { run, since: known?.since ?? this.now() });
    if (!this.timer) {
      this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  untrack(id: string): void {
    this.runs.delete(id);
    if (this.runs.size === 0) this.stop();
  }

  get size(): number {
    return this.runs.size;
  }

  /** One pass over the runs still going (one pass at a time). */
  sweep(): Promise<void> {
    this.sweeping ??= this.pass().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async pass(): Promise<void> {
    for (const [id, { run, since }] of [...this.runs.entries()]) {
      if (this.now() - since > this.options.maxAgeMs(run)) {
        this.untrack(id);
        continue;
      }
      try {
        if (await this.options.check(run)) this.untrack(id);
      } catch (error) {
        this.logger.debug({ err: error, execution: id }, "could not read a Cloud Run execution to delete its job; trying again later");
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
