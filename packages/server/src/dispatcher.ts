import pRetry, { AbortError } from "p-retry";
import {
  decideAdmission,
  ENGINE_ENV,
  FerryError,
  idempotencyKeyForRun,
  isFinalStatus,
  isFerryError,
  isLoopbackUrl,
  isPushType,
  isTerminal,
  stateChange,
  stateForInfrastructureStatus,
  type ComputeProvider,
  type DeploymentRecord,
  type FlowRunRecord,
  type InfrastructureRef,
  type InfrastructureStatus,
  type NewLogLine,
  type SubmitRequest,
  type WorkPoolRecord,
} from "@ferry/core";
import { resolveCredentials } from "./services/credentials.js";
import { logToRun, transitionRun, type Decide, type ServiceContext } from "./services/context.js";
import { toDeployment } from "./services/deployments.js";
import { submittingState, toFlowRun } from "./services/flow-runs.js";
import { PeriodicSweep } from "./sweep.js";

export interface DispatcherLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DispatcherOptions {
  /** This server's identity among those on the database (see ServerLease): the owner it records on the runs it drives. */
  serverId: string;
  /** Environment handed to the run's process so it can report back. */
  runtimeEnv(run: FlowRunRecord): Promise<Record<string, string>>;
  /** Attempts for a retryable submission failure (throttling, transient errors). */
  submitRetries?: number;
  /** First and longest wait between polls of a provider without `watch`. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** How often the pending push runs are re-read besides the wake-ups (default 2000 ms). */
  sweepIntervalMs?: number;
  /** Longest wait between two requests to stop a cancelled run's infrastructure that the platform refused (default 30 s). */
  cancelRetryMaxMs?: number;
}

/** Waiting runs one admission pass reads from a pool's queue; a full batch all admitted asks for another pass. */
const ADMISSION_BATCH = 500;

/** What the driver of one run knows; refreshed from what each write returns, not by reading again. */
interface Job {
  run: FlowRunRecord;
  pool?: WorkPoolRecord | null;
  deployment?: DeploymentRecord | null;
  /** The run may have moved on since `run` was read: read it again before acting. */
  stale?: boolean;
  /** The run's event counter (RunEventHub.version) when `run` was last read: news since then means read it again. */
  seen?: number;
  readAt?: number;
  /** Created by this server with it as the owner: no claim to make, and no server drove it before. */
  claimed?: boolean;
  /** The attempt whose infrastructure is being followed: its statuses say nothing about a later attempt (a retry). */
  followed?: number;
}

/** Requests to stop a cancelled run's infrastructure, while the platform has not accepted one. */
interface StopAttempts {
  confirmed: boolean;
  failures: number;
  /** Not asked again before this time (ms since the epoch): a growing pause after each refusal. */
  nextAt: number;
}

/**
 * Drives push runs without a polling worker: a run created in a push pool is submitted at once through
 * its pool's provider, then followed to a final state. A run that must wait (its pool is paused or at
 * its concurrency limit) stays SCHEDULED until an admission pass of its pool admits it; admission is
 * core's `decideAdmission`, applied under the workspace's lock with compare-and-set writes, so several
 * server processes never overshoot a limit. Durable across restarts: the provider gets an idempotency
 * key derived from the run id, and a periodic sweep picks up every push run nothing in this process
 * drives (at start, after a lost wake-up, or after a driver failed).
 *
 * One server drives a run at a time: the driver claims it (`claimFlowRun`), and the sweep takes only
 * runs without a live owner (see ServerLease). A cancel is a stored state (CANCELLING), written by
 * whichever server got the request; the run's driver sees it (woken by the write, through NOTIFY from
 * another server, or at its next read) and asks the platform to stop, again and again with a growing
 * pause while the platform refuses. The run is CANCELLED once the infrastructure has ended.
 */
export class Dispatcher {
  private readonly active = new Map<string, Promise<void>>();
  /** Runs woken while their driver was finishing: driven again, from a fresh read, once it has. */
  private readonly again = new Set<string>();
  private readonly admitting = new Map<string, Promise<void>>();
  /** Pools asked for another pass while one ran (see admitPool for `onlyIfLimited`). */
  private readonly readmit = new Map<string, { workspaceId: string; onlyIfLimited: boolean }>();
  private readonly controller = new AbortController();
  private readonly sweeper: PeriodicSweep;
  private stopped = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly logger: DispatcherLogger,
    private readonly options: DispatcherOptions,
  ) {
    this.sweeper = new PeriodicSweep(() => this.sweepOnce(), {
      dispatcher: "push",
      intervalMs: options.sweepIntervalMs ?? 2000,
      logger,
      metrics: ctx.metrics,
    });
  }

  /** Picks up every unfinished push run (not yet submitted, being submitted, running or being cancelled), then sweeps periodically. */
  async start(): Promise<number> {
    const count = await this.sweeper.now();
    if (count) this.logger.info({ runs: count }, "resumed unfinished push runs");
    this.sweeper.start();
    return count;
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    this.controller.abort();
    await this.sweeper.stop();
    const all = Promise.allSettled([...this.active.values(), ...this.admitting.values()]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /**
   * Re-reads the pending push runs now: drives each run nothing in this process drives, and asks for
   * an admission pass of each unpaused pool with waiting runs. Resolves to how many runs it started
   * driving; rejects when the store cannot be read (the periodic sweep logs that and tries again).
   */
  sweep(): Promise<number> {
    return this.sweeper.now();
  }

  /** The owner a push run created now in the Submitting state is inserted with: this server, which drives it at once. */
  ownerOfNewRun(poolType: string): string | null {
    return this.stopped || !isPushType(poolType) ? null : this.options.serverId;
  }

  /** `owned`: the run was inserted with this server as its owner (see ownerOfNewRun), so claiming it is done. */
  runCreated(run: FlowRunRecord, origin?: { pool: WorkPoolRecord; deployment: DeploymentRecord; owned?: boolean }): void {
    if (isPushType(run.work_pool_type)) this.drive({ run, pool: origin?.pool, deployment: origin?.deployment, claimed: origin?.owned });
  }

  runCancelling(run: FlowRunRecord): void {
    if (!isPushType(run.work_pool_type)) return;
    // A driver here was woken by the cancel's write and stops the infrastructure itself. Otherwise one is
    // started: it claims the run, unless another live server drives it (that one was woken by NOTIFY).
    if (this.active.has(run.id)) return;
    this.drive({ run });
  }

  /** A run ended: a slot of its pool may have freed. */
  runEnded(run: FlowRunRecord): void {
    if (isPushType(run.work_pool_type)) this.admitPool(run.workspace_id, run.work_pool_id, true);
  }

  poolMayAdmit(pool: WorkPoolRecord): void {
    if (isPushType(pool.type)) this.admitPool(pool.workspace_id, pool.id, false);
  }

  /** Resolves when no run is being driven or admitted: for tests and benchmarks. */
  async idle(): Promise<void> {
    while (this.active.size || this.admitting.size) await Promise.allSettled([...this.active.values(), ...this.admitting.values()]);
  }

  private async sweepOnce(): Promise<number> {
    const pools = new Map<string, WorkPoolRecord | null>();
    const waiting = new Map<string, string>();
    let picked = 0;
    let after: string | undefined;
    while (!this.stopped) {
      const runs = await this.ctx.store.listUnfinishedFlowRuns({ pool_kind: "push", limit: 500, after_id: after, claimable_by: this.options.serverId });
      for (const run of runs) {
        if (this.active.has(run.id)) continue;
        if (run.state.type === "SCHEDULED") {
          // Waiting runs start through their pool's admission pass, oldest first; a paused pool keeps them.
          if (!pools.has(run.work_pool_id)) pools.set(run.work_pool_id, await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id));
          const pool = pools.get(run.work_pool_id);
          if (pool && !pool.paused) waiting.set(pool.id, pool.workspace_id);
          continue;
        }
        this.drive({ run });
        picked++;
      }
      if (runs.length < 500) break;
      after = runs[runs.length - 1]!.id;
    }
    for (const [poolId, workspaceId] of waiting) this.admitPool(workspaceId, poolId, false);
    return picked;
  }

  /**
   * Asks for an admission pass of a pool: one pass per pool at a time, and a request during a pass runs
   * one more after it. `onlyIfLimited`: only a pool with a concurrency limit can have runs waiting for
   * the slot a run's end freed, so the pass of an unlimited pool is skipped.
   */
  private admitPool(workspaceId: string, poolId: string, onlyIfLimited: boolean): void {
    if (this.stopped) return;
    if (this.admitting.has(poolId)) {
      const queued = this.readmit.get(poolId);
      this.readmit.set(poolId, { workspaceId, onlyIfLimited: onlyIfLimited && (queued?.onlyIfLimited ?? true) });
      return;
    }
    const pass = this.admitPass(workspaceId, poolId, onlyIfLimited)
      .then((more) => {
        if (more && !this.readmit.has(poolId)) this.readmit.set(poolId, { workspaceId, onlyIfLimited: false });
      })
      .catch((error) => this.logger.error({ err: error, work_pool_id: poolId }, "admitting the waiting runs of a push pool failed; the sweep tries again"))
      .finally(() => {
        this.admitting.delete(poolId);
        const next = this.readmit.get(poolId);
        this.readmit.delete(poolId);
        if (next) this.admitPool(next.workspaceId, poolId, next.onlyIfLimited);
      });
    this.admitting.set(poolId, pass);
  }

  /**
   * One admission pass: under the workspace's lock, the pool's waiting runs (oldest first) and its
   * active count go to `decideAdmission`; each decision is written with a compare-and-set, and the
   * admitted runs are driven. True when another pass should follow (a full batch was admitted, or a run
   * moved while being admitted, so a slot counted for it may still be free).
   */
  private async admitPass(workspaceId: string, poolId: string, onlyIfLimited: boolean): Promise<boolean> {
    const outside = await this.ctx.store.getWorkPoolById(workspaceId, poolId);
    if (!outside || outside.paused || (onlyIfLimited && outside.concurrency_limit === null)) return false;
    const decided = await this.ctx.store.transaction(async (tx) => {
      const result = { pool: null as WorkPoolRecord | null, admitted: [] as FlowRunRecord[], touched: [] as string[], more: false };
      await tx.lockWorkspace(workspaceId);
      const pool = await tx.getWorkPoolById(workspaceId, poolId);
      if (!pool) return result;
      result.pool = pool;
      // Stamped under the lock: a run is never admitted "before" the end that freed its slot.
      const at = this.ctx.now().toISOString();
      // A scheduled run is not due before its expected start.
      const queued = await tx.listQueuedFlowRuns({ pool_kind: "push", workspace_id: workspaceId, work_pool_id: poolId, limit: ADMISSION_BATCH, due_at: at });
      if (!queued.length) return result;
      const active = pool.concurrency_limit === null ? 0 : await tx.countActiveFlowRunsInPool(pool.id);
      const decisions = decideAdmission({
        queued,
        pools: new Map([[pool.id, { name: pool.name, paused: pool.paused, concurrency_limit: pool.concurrency_limit, active }]]),
        deployments: await tx.deploymentConcurrency(workspaceId, queued.map((r) => r.deployment_id)),
        admitted: submittingState(pool.type),
      });
      for (const decision of decisions) {
        if (!decision.change) continue;
        const fields = decision.action === "cancel" ? { end_time: at } : undefined;
        const written = await tx.compareAndSetFlowRunState(decision.run.id, decision.run.state, { ...decision.change, timestamp: at }, fields);
        if (written) {
          result.touched.push(decision.run.id);
          if (decision.action === "admit") result.admitted.push(written.run);
        } else if (decision.action === "admit") {
          result.more = true;
        }
      }
      if (queued.length === ADMISSION_BATCH && decisions.every((d) => d.action === "admit")) result.more = true;
      return result;
    });
    for (const id of decided.touched) this.ctx.events.notify(id);
    for (const run of decided.admitted) this.drive({ run, pool: decided.pool });
    return decided.more;
  }

  private drive(job: Job): void {
    const id = job.run.id;
    if (this.stopped) return;
    if (this.active.has(id)) {
      this.again.add(id);
      return;
    }
    const task = this.loop(job)
      .catch((error) => {
        this.logger.error({ err: error, flow_run_id: id }, "dispatching a run failed; the sweep tries again");
        return null;
      })
      .then((waitFor) => {
        this.active.delete(id);
        if (this.again.delete(id)) this.drive({ run: job.run, stale: true });
        // Asked only now that this driver has let go of the run, so the pass's admission drives it anew.
        else if (waitFor) this.admitPool(waitFor.workspace_id, waitFor.id, false);
      });
    this.active.set(id, task);
  }

  /** Drives the run until it ends or must wait; a waiting run's pool is returned for an admission pass. */
  private async loop(job: Job): Promise<WorkPoolRecord | null> {
    let fresh = !job.stale;
    /** Null until claimed; then whether another server (or an earlier life of this one) drove the run before. */
    let claim: { previous_owner: string | null } | null = job.claimed ? { previous_owner: null } : null;
    while (!this.stopped) {
      if (!fresh) {
        if (!(await this.reread(job))) return null;
      }
      fresh = false;
      const run = job.run;
      if (isTerminal(run.state.type)) {
        this.runEnded(run);
        return null;
      }
      if (run.state.type === "SCHEDULED") {
        // Started by its pool's admission pass once the pool is resumed or has a slot.
        job.pool ??= await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
        return job.pool && !job.pool.paused ? job.pool : null;
      }
      if (!claim) {
        // One server drives a run: one that another live server drives is left to it.
        claim = await this.ctx.store.claimFlowRun(run.id, this.options.serverId);
        if (!claim) return null;
      }
      const poolType = this.ctx.registry.has(run.work_pool_type) ? this.ctx.registry.get(run.work_pool_type) : null;
      if (!poolType?.provider) {
        await this.crash(run, `pool type '${run.work_pool_type}' is not available on this server; add its plugin to FERRY_PROVIDERS and restart`);
        return null;
      }
      const provider = poolType.provider;
      job.pool ??= await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
      if (!run.infrastructure_id) {
        if (run.state.type === "CANCELLING") {
          if (claim.previous_owner === null) {
            // No server ever drove it, so nothing was ever submitted.
            await this.transition(job, stateChange("CANCELLED", { message: "cancelled before the infrastructure started" }));
            continue;
          }
          // A driver before this one may have submitted it and died before recording what started:
          // submitting again with the same idempotency key finds that, so it is stopped below.
          await logToRun(this.ctx, run, "info", `Cancelled while being submitted to ${provider.type}: looking for what the platform started, to stop it`);
        }
        const submitted = await this.submit(job, provider);
        if (submitted) {
          job.run = submitted;
          fresh = true;
        }
        continue;
      }
      await this.follow(job, provider);
      fresh = true;
    }
    return null;
  }

  /** Hands the run to the provider; the run with its infrastructure id, or null when it ended instead. */
  private async submit(job: Job, provider: ComputeProvider): Promise<FlowRunRecord | null> {
    const run = job.run;
    const signal = this.controller.signal;
    let request: SubmitRequest;
    try {
      job.deployment ??= await this.ctx.store.getDeployment(run.workspace_id, run.deployment_id);
      if (!job.pool) throw new FerryError("not_found", `work pool '${run.work_pool}' was deleted before the run started`);
      if (!job.deployment) throw new FerryError("not_found", `deployment '${run.deployment_name}' was deleted before the run started`);
      request = {
        flowRun: toFlowRun(run),
        deployment: toDeployment(job.deployment),
        jobConfiguration: run.job_configuration ?? {},
        credentials: await this.credentialsOf(job.pool, provider),
        idempotencyKey: idempotencyKeyForRun(run.id, run.attempt),
        runtimeEnv: await this.options.runtimeEnv(run),
        signal,
      };
    } catch (error) {
      await this.crash(run, `failed to submit: ${(error as Error).message}`);
      return null;
    }
    let infrastructureId: string;
    try {
      const result = await pRetry(
        async () => {
          try {
            return await provider.submit(request);
          } catch (error) {
            this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "submit", code: isFerryError(error) ? error.code : "unclassified" });
            if (isFerryError(error) && error.retryable && !signal.aborted) throw error;
            throw new AbortError(error as Error);
          }
        },
        {
          retries: this.options.submitRetries ?? 5,
          minTimeout: 200,
          maxTimeout: 5000,
          factor: 2,
          signal,
          onFailedAttempt: async (error) => {
            if (error.retriesLeft > 0 && !signal.aborted) {
              await logToRun(this.ctx, run, "warning", `Submission attempt ${error.attemptNumber} failed (${error.message}); retrying`);
            }
          },
        },
      );
      infrastructureId = result.infrastructureId;
    } catch (error) {
      if (signal.aborted) return null; // shutting down: the next start resubmits with the same idempotency key
      const cause = error instanceof AbortError ? ((error as { originalError?: Error }).originalError ?? error) : error;
      const message = (cause as Error).message;
      await logToRun(this.ctx, run, "error", `Submission to ${provider.type} failed: ${message}`);
      await this.transition(job, (r) =>
        r.state.type === "CANCELLING"
          ? stateChange("CANCELLED", { message: "cancelled; the infrastructure never started" })
          : stateChange("CRASHED", { message: `failed to submit to ${provider.type}: ${message}` }),
      );
      return null;
    }
    this.ctx.metrics.dispatchLatency.observe({ pool_type: provider.type }, (Date.now() - Date.parse(run.created_at)) / 1000);
    const lines: NewLogLine[] = [{ level: "info", message: `Submitted: infrastructure ${infrastructureId}`, timestamp: this.ctx.now().toISOString(), source: "ferry" }];
    const apiUrl = request.runtimeEnv[ENGINE_ENV.apiUrl];
    if (apiUrl && isLoopbackUrl(apiUrl)) {
      // Said in the run's own log, where its user looks when the run seems stuck.
      lines.push({
        level: "warning",
        message: `The run's engine was given ${ENGINE_ENV.apiUrl}=${apiUrl}, a loopback address: infrastructure on ${provider.type} reaches its own machine there, not this server, so the run cannot report back unless a tunnel or proxy on its side makes it. Fix: set FERRY_PUBLIC_URL on the server to an address the infrastructure reaches`,
        timestamp: this.ctx.now().toISOString(),
        source: "ferry",
      });
    }
    // Both lines in one statement, beside the write of the infrastructure id (one round trip fewer per run).
    const [updated] = await Promise.all([
      this.ctx.store.updateFlowRun(run.id, { infrastructure_id: infrastructureId }),
      this.ctx.store.insertLogs(run.workspace_id, run.id, lines).then(() => this.ctx.events.notify(run.id)),
    ]);
    return updated;
  }

  /**
   * Follows the run's infrastructure until there is nothing left to follow. A cancel seen on the way
   * (the run is CANCELLING) is carried out here: the platform is asked to stop, and asked again after a
   * growing pause while it refuses, the run staying CANCELLING with each refusal in its log.
   */
  private async follow(job: Job, provider: ComputeProvider): Promise<void> {
    const ref = await this.refFor(job.run, job.pool ?? null);
    job.followed = job.run.attempt;
    const stop: StopAttempts = { confirmed: false, failures: 0, nextAt: 0 };
    const signal = this.controller.signal;
    job.seen ??= this.ctx.events.version(job.run.id);
    job.readAt ??= Date.now();
    let watching = Boolean(provider.watch);
    let wait = this.options.pollMinMs ?? 500;
    let failures = 0;
    while (!this.stopped) {
      if (this.stopDue(job, stop) && (await this.requestStop(job, provider, ref, stop))) return;
      if (watching) {
        const outcome = await this.watchUntil(job, provider, ref, stop);
        if (outcome === "ended") return;
        if (outcome === "failed") watching = false;
        continue;
      }
      let status: InfrastructureStatus;
      try {
        status = await provider.status(ref);
        failures = 0;
      } catch (error) {
        this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "status", code: isFerryError(error) ? error.code : "unclassified" });
        if (isFerryError(error) && (error.code === "provider_not_found" || error.code === "not_found")) {
          status = { phase: "missing", message: error.message };
        } else if (++failures >= 10) {
          status = { phase: "failed", message: `lost track of the infrastructure after ${failures} failed status checks: ${(error as Error).message}` };
        } else {
          await this.pause(job, Math.min(wait, this.untilStopRetry(job, stop)), signal);
          wait = Math.min(wait * 2, this.options.pollMaxMs ?? 10_000);
          continue;
        }
      }
      if (await this.apply(job, status, provider, ref, stop)) return;
      // A state change (e.g. a cancel request, here or on another server) wakes the loop early.
      await this.pause(job, Math.min(wait, this.untilStopRetry(job, stop)), signal);
      wait = Math.min(wait * 2, this.options.pollMaxMs ?? 10_000);
    }
  }

  /**
   * Follows the platform's own status stream, and beside it the run: returns "cancel" when a stop is to
   * be requested (a cancel arrived, or a refused stop is due again), "failed" when the stream broke
   * (the caller polls instead), "ended" when there is nothing left to follow.
   */
  private async watchUntil(job: Job, provider: ComputeProvider, ref: InfrastructureRef, stop: StopAttempts): Promise<"ended" | "cancel" | "failed"> {
    const inner = new AbortController();
    const outer = this.controller.signal;
    const onAbort = () => inner.abort();
    outer.addEventListener("abort", onAbort, { once: true });
    let cancel = false;
    const news = (async () => {
      while (!inner.signal.aborted) {
        await this.pause(job, Math.min(this.sweepMs, this.untilStopRetry(job, stop)), inner.signal);
        if (!inner.signal.aborted && this.stopDue(job, stop)) {
          cancel = true;
          inner.abort();
        }
      }
    })();
    try {
      for await (const status of provider.watch!(ref, inner.signal)) {
        if (await this.apply(job, status, provider, ref, stop)) return "ended";
        if (this.stopDue(job, stop)) return "cancel";
        if (cancel) return "cancel";
      }
      return cancel ? "cancel" : "ended";
    } catch (error) {
      if (cancel) return "cancel";
      if (outer.aborted) return "ended";
      this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "watch", code: isFerryError(error) ? error.code : "unclassified" });
      this.logger.warn({ err: error, flow_run_id: job.run.id }, "watch failed; polling status instead");
      return "failed";
    } finally {
      inner.abort();
      outer.removeEventListener("abort", onAbort);
      await news.catch((error) => this.logger.warn({ err: error, flow_run_id: job.run.id }, "could not re-read a followed run"));
    }
  }

  /** A cancelled run whose stop the platform has not accepted yet, and whose next request is due. */
  private stopDue(job: Job, stop: StopAttempts): boolean {
    return job.run.state.type === "CANCELLING" && !stop.confirmed && Date.now() >= stop.nextAt;
  }

  /** How long until a refused stop is due again (no limit when none is pending). */
  private untilStopRetry(job: Job, stop: StopAttempts): number {
    return job.run.state.type === "CANCELLING" && !stop.confirmed ? Math.max(0, stop.nextAt - Date.now()) : Number.POSITIVE_INFINITY;
  }

  private get sweepMs(): number {
    return this.options.sweepIntervalMs ?? 2000;
  }

  /**
   * Waits up to `ms` for news of the run, then reads it again if there was news since it was last read
   * (its own writes count too), or if it was not read for five sweep intervals (a lost notification:
   * rare, so not worth a read per run every interval).
   */
  private async pause(job: Job, ms: number, signal: AbortSignal): Promise<void> {
    await this.ctx.events.wait(job.run.id, ms, signal, job.seen);
    if (signal.aborted) return;
    if (this.ctx.events.version(job.run.id) !== job.seen || Date.now() - (job.readAt ?? 0) >= 5 * this.sweepMs) await this.reread(job);
  }

  /**
   * For a write of the followed run made here: the row it returns is the run as it is now, newer than
   * any news notified before the write began. When the write's own notification is the only news since
   * then, the run counts as read, so the follower does not read it again for its own write (about three
   * reads per run saved). Any other notification meanwhile still sends it to read the run.
   */
  private ownWrite(job: Job): (result: { run: FlowRunRecord }) => void {
    const id = job.run.id;
    const before = this.ctx.events.version(id);
    return (result) => {
      const now = this.ctx.events.version(id);
      if (now !== before + 1) return;
      job.run = result.run;
      job.seen = now;
      job.readAt = Date.now();
    };
  }

  /** Reads the run again; false when it is gone. */
  private async reread(job: Job): Promise<boolean> {
    // The counter is taken before the read: news during the read is read at the next pause.
    job.seen = this.ctx.events.version(job.run.id);
    job.readAt = Date.now();
    const run = await this.ctx.store.getFlowRunForSystem(job.run.id);
    if (!run) return false;
    job.run = run;
    return true;
  }

  /** Applies a platform status to the run. True when there is nothing left to follow. */
  private async apply(job: Job, status: InfrastructureStatus, provider: ComputeProvider, ref: InfrastructureRef, stop: StopAttempts): Promise<boolean> {
    const attempt = job.followed ?? job.run.attempt;
    const { run, entry } = await transitionRun(
      this.ctx,
      job.run,
      (r) => (r.attempt === attempt ? stateForInfrastructureStatus(r.state, status, stop.confirmed) : null),
      { written: this.ownWrite(job) },
    );
    job.run = run;
    if (entry && (run.state.type === "CRASHED" || run.state.name === "AwaitingRetry")) await this.copyPlatformLogs(run, provider, ref);
    // A retry's next attempt is submitted afresh (the loop sees it without infrastructure) once this one's has ended.
    return isFinalStatus(status) || isTerminal(run.state.type) || run.attempt !== attempt;
  }

  /**
   * Asks the platform to stop a cancelled run's infrastructure. Accepted: the run becomes CANCELLED when
   * the infrastructure has ended. Refused: the run stays CANCELLING, the refusal goes to its log, and
   * the next request is due after a pause that doubles each time, up to `cancelRetryMaxMs`. True when
   * the run ended here (the infrastructure was already gone).
   */
  private async requestStop(job: Job, provider: ComputeProvider, ref: InfrastructureRef, stop: StopAttempts): Promise<boolean> {
    const run = job.run;
    try {
      await provider.cancel(ref, run.state.message ?? "cancelled by request");
      stop.confirmed = true;
      await logToRun(this.ctx, run, "info", `Asked ${provider.type} to stop ${run.infrastructure_id}`);
      return false;
    } catch (error) {
      this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "cancel", code: isFerryError(error) ? error.code : "unclassified" });
      if (isFerryError(error) && (error.code === "provider_not_found" || error.code === "not_found")) {
        await this.transition(job, stateChange("CANCELLED", { message: "cancelled; the infrastructure was already gone" }));
        return isTerminal(job.run.state.type);
      }
      stop.failures++;
      const pause = Math.min((this.options.pollMinMs ?? 500) * 2 ** (stop.failures - 1), this.options.cancelRetryMaxMs ?? 30_000);
      stop.nextAt = Date.now() + pause;
      await logToRun(
        this.ctx,
        run,
        "error",
        `Could not stop ${run.infrastructure_id} (attempt ${stop.failures}): ${(error as Error).message}. ` +
          `The run stays CANCELLING until ${provider.type} accepts the stop; asking again in ${formatPause(pause)}`,
      );
      return false;
    }
  }

  private async refFor(run: FlowRunRecord, pool: WorkPoolRecord | null): Promise<InfrastructureRef> {
    pool ??= await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
    return { infrastructureId: run.infrastructure_id!, jobConfiguration: run.job_configuration ?? {}, credentials: await this.credentialsOf(pool) };
  }

  /** The pool's credentials, decrypted; with `provider`, checked to be of the type it needs (a plugin may have changed it). */
  private async credentialsOf(pool: WorkPoolRecord | null, provider?: ComputeProvider): Promise<Record<string, string> | null> {
    if (!pool?.credentials) return null;
    const resolved = await resolveCredentials(this.ctx.store, this.ctx.secrets, pool.workspace_id, pool.credentials);
    if (provider && resolved.type !== provider.credentialsType) {
      throw new FerryError(
        "validation_failed",
        `work pool '${pool.name}' has ${resolved.type} credentials ('${pool.credentials}'), and ${provider.type} needs ${provider.credentialsType ?? "none"}; ` +
          `set fitting ones with 'ferry work-pool update ${pool.name} --credentials NAME'`,
      );
    }
    return resolved.data;
  }

  private async copyPlatformLogs(run: FlowRunRecord, provider: ComputeProvider, ref: InfrastructureRef): Promise<void> {
    if (!provider.logs) return;
    try {
      const lines = await provider.logs(ref, { limit: 50 });
      if (!lines.length) return;
      await this.ctx.store.insertLogs(run.workspace_id, run.id, lines.map((l) => ({ level: "info" as const, message: l.message, timestamp: l.timestamp, source: provider.type })));
      this.ctx.events.notify(run.id);
    } catch (error) {
      this.logger.warn({ err: error, flow_run_id: run.id }, "could not read the platform's logs of a crashed run");
    }
  }

  private async crash(run: FlowRunRecord, message: string): Promise<void> {
    await logToRun(this.ctx, run, "error", message);
    await this.transition({ run }, stateChange("CRASHED", { message }));
  }

  /** A final decision that may find the run already ended some other way: then there is nothing to do. */
  private async transition(job: Job, decide: Decide): Promise<void> {
    try {
      const { run } = await transitionRun(this.ctx, job.run, (r) => (isTerminal(r.state.type) ? null : typeof decide === "function" ? decide(r) : decide), {
        written: this.ownWrite(job),
      });
      job.run = run;
    } catch (error) {
      if (!isFerryError(error, "invalid_transition")) throw error;
    }
  }
}

function formatPause(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
