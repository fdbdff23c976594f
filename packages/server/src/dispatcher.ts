import pRetry, { AbortError } from "p-retry";
import {
  FerryError,
  idempotencyKeyForRun,
  isFinalStatus,
  isFerryError,
  isPushType,
  isTerminal,
  stateChange,
  stateForInfrastructureStatus,
  type ComputeProvider,
  type DeploymentRecord,
  type FlowRunRecord,
  type InfrastructureRef,
  type InfrastructureStatus,
  type SubmitRequest,
  type WorkPoolRecord,
} from "@ferry/core";
import { resolveCredentials } from "./services/credentials.js";
import { logToRun, transitionRun, type Decide, type ServiceContext } from "./services/context.js";
import { toDeployment } from "./services/deployments.js";
import { toFlowRun } from "./services/flow-runs.js";

export interface DispatcherLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DispatcherOptions {
  /** Environment handed to the run's process so it can report back. */
  runtimeEnv(run: FlowRunRecord): Record<string, string>;
  /** Attempts for a retryable submission failure (throttling, transient errors). */
  submitRetries?: number;
  /** First and longest wait between polls of a provider without `watch`. */
  pollMinMs?: number;
  pollMaxMs?: number;
}

/**
 * Drives push runs without a polling worker: a run created in a push pool is submitted at once through
 * its pool's provider, then followed to a final state. Durable across restarts: the claim
 * (SCHEDULED → PENDING/Submitting) is a locked transition, the provider gets an idempotency key derived
 * from the run id, and on start every unfinished push run is picked up where it stood.
 */
/** What the driver of one run knows; refreshed from what each write returns, not by reading again. */
interface Job {
  run: FlowRunRecord;
  pool?: WorkPoolRecord | null;
  deployment?: DeploymentRecord | null;
}

export class Dispatcher {
  private readonly active = new Map<string, Promise<void>>();
  private readonly controller = new AbortController();
  private stopped = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly logger: DispatcherLogger,
    private readonly options: DispatcherOptions,
  ) {}

  /** Picks up every unfinished push run: not yet submitted, being submitted, running or being cancelled. */
  async start(): Promise<number> {
    let after: string | undefined;
    let count = 0;
    for (;;) {
      const runs = await this.ctx.store.listUnfinishedFlowRuns({ pool_kind: "push", limit: 500, after_id: after });
      for (const run of runs) {
        this.drive({ run });
        count++;
      }
      if (runs.length < 500) break;
      after = runs[runs.length - 1]!.id;
    }
    if (count) this.logger.info({ runs: count }, "resumed unfinished push runs");
    return count;
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    this.controller.abort();
    const all = Promise.allSettled([...this.active.values()]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  runCreated(run: FlowRunRecord, origin?: { pool: WorkPoolRecord; deployment: DeploymentRecord }): void {
    if (isPushType(run.work_pool_type)) this.drive({ run, pool: origin?.pool, deployment: origin?.deployment });
  }

  runCancelling(run: FlowRunRecord): void {
    if (!isPushType(run.work_pool_type)) return;
    if (this.active.has(run.id)) {
      // The driver is following the run; stop the infrastructure now rather than at its next look.
      if (run.infrastructure_id) void this.requestStop(run, null);
      return;
    }
    this.drive({ run });
  }

  runEnded(run: FlowRunRecord): void {
    if (isPushType(run.work_pool_type)) this.kickPool(run.workspace_id, run.work_pool, true);
  }

  poolResumed(workspaceId: string, poolName: string): void {
    this.kickPool(workspaceId, poolName, false);
  }

  /** Resolves when no run is being driven: for tests and benchmarks. */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.allSettled([...this.active.values()]);
  }

  /** Offers the pool's waiting runs a chance to start (after a resume, or when a slot freed), oldest first. */
  private kickPool(workspaceId: string, poolName: string, onlyIfLimited: boolean): void {
    void (async () => {
      const pool = await this.ctx.store.getWorkPool(workspaceId, poolName);
      if (!pool || pool.paused || (onlyIfLimited && pool.concurrency_limit === null)) return;
      const waiting = await this.ctx.store.listFlowRuns(workspaceId, { work_pool: poolName, states: ["SCHEDULED"] }, { limit: 1000 });
      for (const run of waiting.reverse()) this.drive({ run, pool });
    })().catch((error) => this.logger.error({ err: error, pool: poolName }, "could not start the waiting runs of a pool"));
  }

  private drive(job: Job): void {
    const id = job.run.id;
    if (this.stopped || this.active.has(id)) return;
    const task = this.loop(job)
      .catch((error) => this.logger.error({ err: error, flow_run_id: id }, "dispatching a run failed"))
      .finally(() => this.active.delete(id));
    this.active.set(id, task);
  }

  private async loop(job: Job): Promise<void> {
    let fresh = true;
    while (!this.stopped) {
      if (!fresh) {
        const reread = await this.ctx.store.getFlowRunForSystem(job.run.id);
        if (!reread) return;
        job.run = reread;
      }
      fresh = false;
      const run = job.run;
      if (isTerminal(run.state.type)) {
        this.runEnded(run);
        return;
      }
      const poolType = this.ctx.registry.has(run.work_pool_type) ? this.ctx.registry.get(run.work_pool_type) : null;
      if (!poolType?.provider) {
        await this.crash(run, `pool type '${run.work_pool_type}' is not available on this server; add its plugin to FERRY_PROVIDERS and restart`);
        return;
      }
      const provider = poolType.provider;
      job.pool ??= await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
      if (run.state.type === "SCHEDULED") {
        if (!job.pool || job.pool.paused) return; // picked up again when the pool is resumed
        const claimed = await this.claim(run, job.pool, provider);
        if (!claimed) return; // waiting for a slot: picked up again when one frees
        job.run = claimed;
        fresh = true;
        continue;
      }
      if (!run.infrastructure_id) {
        if (run.state.type === "CANCELLING") {
          await this.transition(run, stateChange("CANCELLED", { message: "cancelled before the infrastructure started" }));
          continue;
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
  }

  /**
   * SCHEDULED → PENDING/Submitting. With a pool concurrency limit, the count of the pool's active runs
   * and the claim happen under the workspace's lock, so concurrent claims cannot overshoot the limit;
   * a run that finds no slot is marked AwaitingConcurrencySlot.
   */
  private async claim(run: FlowRunRecord, pool: WorkPoolRecord, provider: ComputeProvider): Promise<FlowRunRecord | null> {
    const submitting = stateChange("PENDING", { name: "Submitting", message: `submitting to ${provider.type}` });
    if (pool.concurrency_limit === null) {
      const { run: after, entry } = await transitionRun(this.ctx, run, (r) => (r.state.type === "SCHEDULED" ? submitting : null));
      return entry ? after : null;
    }
    const limit = pool.concurrency_limit;
    const at = this.ctx.now().toISOString();
    const result = await this.ctx.store.transaction(async (tx) => {
      await tx.lockWorkspace(run.workspace_id);
      const current = await tx.getFlowRunForSystem(run.id);
      if (!current || current.state.type !== "SCHEDULED") return null;
      const active = await tx.countActiveFlowRunsInPool(pool.id);
      if (active >= limit) {
        if (current.state.name === "AwaitingConcurrencySlot") return null;
        const waiting = stateChange("SCHEDULED", {
          name: "AwaitingConcurrencySlot",
          message: `work pool '${pool.name}' is running ${active} of its ${limit} allowed runs; this run starts when one ends`,
        });
        await tx.compareAndSetFlowRunState(run.id, current.state, { ...waiting, timestamp: at });
        return null;
      }
      return (await tx.compareAndSetFlowRunState(run.id, current.state, { ...submitting, timestamp: at }))?.run ?? null;
    });
    this.ctx.events.notify(run.id);
    return result;
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
        credentials: await this.credentialsOf(job.pool),
        idempotencyKey: idempotencyKeyForRun(run.id),
        runtimeEnv: this.options.runtimeEnv(run),
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
      await this.transition(run, (r) =>
        r.state.type === "CANCELLING"
          ? stateChange("CANCELLED", { message: "cancelled; the infrastructure never started" })
          : stateChange("CRASHED", { message: `failed to submit to ${provider.type}: ${message}` }),
      );
      return null;
    }
    this.ctx.metrics.dispatchLatency.observe({ pool_type: provider.type }, (Date.now() - Date.parse(run.created_at)) / 1000);
    const [updated] = await Promise.all([
      this.ctx.store.updateFlowRun(run.id, { infrastructure_id: infrastructureId }),
      logToRun(this.ctx, run, "info", `Submitted: infrastructure ${infrastructureId}`),
    ]);
    return updated;
  }

  private async follow(job: Job, provider: ComputeProvider): Promise<void> {
    const ref = await this.refFor(job.run, job.pool ?? null);
    if (job.run.state.type === "CANCELLING") await this.requestStop(job.run, job.pool ?? null, ref);
    const signal = this.controller.signal;
    if (provider.watch) {
      try {
        for await (const status of provider.watch(ref, signal)) {
          if (await this.apply(job, status, provider, ref)) return;
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "watch", code: isFerryError(error) ? error.code : "unclassified" });
        this.logger.warn({ err: error, flow_run_id: job.run.id }, "watch failed; polling status instead");
      }
    }
    let wait = this.options.pollMinMs ?? 500;
    let failures = 0;
    while (!this.stopped) {
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
          await this.ctx.events.wait(job.run.id, wait, signal);
          wait = Math.min(wait * 2, this.options.pollMaxMs ?? 10_000);
          continue;
        }
      }
      if (await this.apply(job, status, provider, ref)) return;
      // A state change (e.g. a cancel request) wakes the loop early.
      await this.ctx.events.wait(job.run.id, wait, signal);
      wait = Math.min(wait * 2, this.options.pollMaxMs ?? 10_000);
    }
  }

  /** Applies a platform status to the run. True when there is nothing left to follow. */
  private async apply(job: Job, status: InfrastructureStatus, provider: ComputeProvider, ref: InfrastructureRef): Promise<boolean> {
    const { run, entry } = await transitionRun(this.ctx, job.run, (r) => stateForInfrastructureStatus(r.state, status));
    job.run = run;
    if (entry && run.state.type === "CRASHED") await this.copyPlatformLogs(run, provider, ref);
    return isFinalStatus(status) || isTerminal(run.state.type);
  }

  private async requestStop(run: FlowRunRecord, pool: WorkPoolRecord | null, ref?: InfrastructureRef): Promise<void> {
    const provider = this.ctx.registry.get(run.work_pool_type).provider!;
    const message = run.state.message ?? "cancelled by request";
    try {
      await provider.cancel(ref ?? (await this.refFor(run, pool)), message);
      await logToRun(this.ctx, run, "info", `Asked ${provider.type} to stop ${run.infrastructure_id}`);
    } catch (error) {
      this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "cancel", code: isFerryError(error) ? error.code : "unclassified" });
      if (isFerryError(error) && (error.code === "provider_not_found" || error.code === "not_found")) {
        await this.transition(run, stateChange("CANCELLED", { message: "cancelled; the infrastructure was already gone" }));
        return;
      }
      await logToRun(this.ctx, run, "error", `Could not stop ${run.infrastructure_id}: ${(error as Error).message}`);
    }
  }

  private async refFor(run: FlowRunRecord, pool: WorkPoolRecord | null): Promise<InfrastructureRef> {
    pool ??= await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
    return { infrastructureId: run.infrastructure_id!, jobConfiguration: run.job_configuration ?? {}, credentials: await this.credentialsOf(pool) };
  }

  private async credentialsOf(pool: WorkPoolRecord | null): Promise<Record<string, string> | null> {
    if (!pool?.credentials) return null;
    return (await resolveCredentials(this.ctx.store, this.ctx.secrets, pool.workspace_id, pool.credentials)).data;
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
    await this.transition(run, stateChange("CRASHED", { message }));
  }

  /** A final decision that may find the run already ended some other way: then there is nothing to do. */
  private async transition(run: FlowRunRecord, decide: Decide): Promise<void> {
    try {
      await transitionRun(this.ctx, run, (r) => (isTerminal(r.state.type) ? null : typeof decide === "function" ? decide(r) : decide));
    } catch (error) {
      if (!isFerryError(error, "invalid_transition")) throw error;
    }
  }
}
