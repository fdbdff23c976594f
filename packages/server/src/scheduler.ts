import { plannedRunTimes, scheduledRunKey, stateChange } from "@ferry/core";
import type { DispatcherLogger } from "./dispatcher.js";
import type { ServiceContext } from "./services/context.js";
import { newRunRecord } from "./services/flow-runs.js";

export interface SchedulerOptions {
  /** How often a pass runs (FERRY_SCHEDULER_INTERVAL_MS). */
  intervalMs: number;
  /** Runs are created this far ahead… */
  horizonMs?: number;
  /** …and at least this many per schedule… */
  minRuns?: number;
  /** …and at most this many per schedule. */
  maxRuns?: number;
}

/** One hour ahead, at least 3 and at most 100 runs per schedule: a day's cron shows its next runs, a busy interval stays bounded. */
export const SCHEDULE_HORIZON_MS = 3600_000;
const MIN_RUNS_AHEAD = 3;
const MAX_RUNS_AHEAD = 100;
const PAGE = 500;

/**
 * Creates deployments' scheduled runs ahead of time and marks runs Late. Every server runs one; they
 * need no coordination: a deployment is decided under its row lock, one server at a time, and the
 * store keeps one run per deployment and time (a unique index), so a time two servers both plan is
 * created once. A run waits SCHEDULED until its expected start, when the dispatchers' admission (which
 * leaves runs that are not due) takes it like any other.
 */
export class Scheduler {
  private timer?: NodeJS.Timeout;
  private running: Promise<{ created: number; late: number }> | null = null;
  private again = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly logger: DispatcherLogger,
    private readonly options: SchedulerOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.wake(), this.options.intervalMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Runs a pass soon (one more after the current one, if a pass is under way). Failures are logged, and the next interval tries again. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.pass()
      .then(() => {
        if (this.failures) this.logger.info({ failures: this.failures }, "the scheduler works again");
        this.failures = 0;
      })
      .catch((error: unknown) => {
        this.failures++;
        this.logger.error({ err: error, failures: this.failures }, `the scheduler's pass failed; trying again in ${this.options.intervalMs} ms`);
      })
      .finally(() => {
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** One pass now (or the one under way): what it created and marked Late. For tests, and the timer. */
  pass(): Promise<{ created: number; late: number }> {
    this.running ??= this.passOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async passOnce(): Promise<{ created: number; late: number }> {
    let created = 0;
    let after: string | undefined;
    while (!this.stopped) {
      const page = await this.ctx.store.listScheduledDeployments({ limit: PAGE, after });
      for (const d of page) created += await this.scheduleDeployment(d.workspace_id, d.id);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }
    const late = await this.markLate();
    return { created, late };
  }

  /** Creates the deployment's runs that should exist now; how many were new. */
  private async scheduleDeployment(workspaceId: string, id: string): Promise<number> {
    try {
      return await this.ctx.store.transaction(async (tx) => {
        const found = await tx.lockDeploymentForScheduling(workspaceId, id);
        if (!found || found.deployment.paused) return 0;
        const { deployment, pool } = found;
        const now = this.ctx.now();
        const times = plannedRunTimes({
          schedules: deployment.schedules,
          lastPass: deployment.schedules_checked_at ? new Date(deployment.schedules_checked_at) : null,
          now,
          catchup: { policy: deployment.catchup_policy, max_runs: deployment.catchup_max_runs },
          horizonMs: this.options.horizonMs ?? SCHEDULE_HORIZON_MS,
          minRuns: this.options.minRuns ?? MIN_RUNS_AHEAD,
          maxRuns: this.options.maxRuns ?? MAX_RUNS_AHEAD,
        });
        const runs = times.map((at) => newRunRecord(this.ctx, deployment, pool, { idempotency_key: scheduledRunKey(deployment.id, at) }, at.toISOString()));
        // Times that have runs already (made by an earlier pass, or another server) are left out by the store.
        const inserted = await tx.insertFlowRuns(runs);
        await tx.setSchedulesCheckedAt(deployment.id, now.toISOString());
        return inserted;
      });
    } catch (error) {
      // One deployment whose runs cannot be made (a parameter its schema requires has no default, an
      // image no longer allowed) must not stop the others': said in the log, tried again next pass.
      this.logger.warn({ err: error, deployment_id: id }, `could not create the scheduled runs of deployment ${id}: ${(error as Error).message}`);
      return 0;
    }
  }

  /** Names Late the runs that waited past their deployment's grace (they stay SCHEDULED and start as soon as they may). */
  private async markLate(): Promise<number> {
    const now = this.ctx.now();
    const at = now.toISOString();
    let marked = 0;
    for (const run of await this.ctx.store.listLateFlowRuns(at, PAGE)) {
      const expected = run.expected_start_time ?? run.created_at;
      const why = run.state.name === "AwaitingConcurrencySlot" && run.state.message ? `; ${run.state.message}` : "";
      const change = stateChange("SCHEDULED", { name: "Late", message: `late: expected to start at ${expected}, not started yet${why}` });
      // A run admitted or cancelled meanwhile is left as it is.
      const written = await this.ctx.store.compareAndSetFlowRunState(run.id, run.state, { ...change, timestamp: at });
      if (written) {
        marked++;
        this.ctx.events.notify(run.id);
      }
    }
    return marked;
  }
}
