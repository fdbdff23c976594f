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
  type FlowRunRecord,
  type InfrastructureRef,
  type InfrastructureStatus,
  type StateChange,
} from "@ferry/core";
import { resolveCredentials } from "./services/credentials.js";
import { logToRun, transitionRun, type ServiceContext } from "./services/context.js";
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
        this.drive(run.id);
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

  runCreated(run: FlowRunRecord): void {
    if (isPushType(run.work_pool_type)) this.drive(run.id);
  }

  runCancelling(run: FlowRunRecord): void {
    if (!isPushType(run.work_pool_type)) return;
    if (this.active.has(run.id)) {
      // The driver is following the run; stop the infrastructure now rather than at its next look.
      if (run.infrastructure_id) void this.requestStop(run);
      return;
    }
    this.drive(run.id);
  }

  poolResumed(workspaceId: string, poolName: string): void {
    void (async () => {
      const runs = await this.ctx.store.listFlowRuns(workspaceId, { work_pool: poolName, states: ["SCHEDULED"] }, { limit: 1000 });
      for (const run of runs) this.runCreated(run);
    })().catch((error) => this.logger.error({ err: error, pool: poolName }, "could not resume the runs of a pool"));
  }

  /** Resolves when no run is being driven: for tests and benchmarks. */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.allSettled([...this.active.values()]);
  }

  private drive(runId: string): void {
    if (this.stopped || this.active.has(runId)) return;
    const task = this.loop(runId)
      .catch((error) => this.logger.error({ err: error, flow_run_id: runId }, "dispatching a run failed"))
      .finally(() => this.active.delete(runId));
    this.active.set(runId, task);
  }

  private async loop(runId: string): Promise<void> {
    while (!this.stopped) {
      const run = await this.ctx.store.getFlowRunForSystem(runId);
      if (!run || isTerminal(run.state.type)) return;
      const poolType = this.ctx.registry.has(run.work_pool_type) ? this.ctx.registry.get(run.work_pool_type) : null;
      if (!poolType?.provider) {
        await this.crash(run, `pool type '${run.work_pool_type}' is not available on this server; add its plugin to FERRY_PROVIDERS and restart`);
        return;
      }
      const provider = poolType.provider;
      if (run.state.type === "SCHEDULED") {
        const pool = await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
        if (pool?.paused) return; // picked up again when the pool is resumed
        await transitionRun(this.ctx, run.id, stateChange("PENDING", { name: "Submitting", message: `submitting to ${provider.type}` }), {
          when: (r) => r.state.type === "SCHEDULED",
        });
        continue;
      }
      if (!run.infrastructure_id) {
        if (run.state.type === "CANCELLING") {
          await this.transition(run, stateChange("CANCELLED", { message: "cancelled before the infrastructure started" }));
          return;
        }
        await this.submit(run, provider);
        continue;
      }
      await this.follow(run, provider);
      return;
    }
  }

  private async submit(run: FlowRunRecord, provider: ComputeProvider): Promise<void> {
    const signal = this.controller.signal;
    let request;
    try {
      const pool = await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
      const deployment = await this.ctx.store.getDeployment(run.workspace_id, run.deployment_id);
      if (!pool) throw new FerryError("not_found", `work pool '${run.work_pool}' was deleted before the run started`);
      if (!deployment) throw new FerryError("not_found", `deployment '${run.deployment_name}' was deleted before the run started`);
      const credentials = pool.credentials
        ? (await resolveCredentials(this.ctx.store, this.ctx.secrets, run.workspace_id, pool.credentials)).data
        : null;
      request = {
        flowRun: toFlowRun(run),
        deployment: toDeployment(deployment),
        jobConfiguration: run.job_configuration ?? {},
        credentials,
        idempotencyKey: idempotencyKeyForRun(run.id),
        runtimeEnv: this.options.runtimeEnv(run),
        signal,
      };
    } catch (error) {
      await this.crash(run, `failed to submit: ${(error as Error).message}`);
      return;
    }
    await logToRun(this.ctx, run, "info", `Submitting to ${provider.type} (work pool '${run.work_pool}')`);
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
      if (signal.aborted) return; // shutting down: the next start resubmits with the same idempotency key
      const cause = error instanceof AbortError ? (error as { originalError?: Error }).originalError ?? error : error;
      const message = (cause as Error).message;
      await logToRun(this.ctx, run, "error", `Submission to ${provider.type} failed: ${message}`);
      const fresh = await this.ctx.store.getFlowRunForSystem(run.id);
      if (fresh?.state.type === "CANCELLING") {
        await this.transition(fresh, stateChange("CANCELLED", { message: "cancelled; the infrastructure never started" }));
      } else if (fresh) {
        await this.crash(fresh, `failed to submit to ${provider.type}: ${message}`);
      }
      return;
    }
    await this.ctx.store.updateFlowRun(run.id, { infrastructure_id: infrastructureId });
    this.ctx.metrics.dispatchLatency.observe({ pool_type: provider.type }, (Date.now() - Date.parse(run.created_at)) / 1000);
    await logToRun(this.ctx, run, "info", `Submitted: infrastructure ${infrastructureId}`);
  }

  private async follow(run: FlowRunRecord, provider: ComputeProvider): Promise<void> {
    const ref = await this.refFor(run);
    if (run.state.type === "CANCELLING") await this.requestStop(run, ref);
    const signal = this.controller.signal;
    if (provider.watch) {
      try {
        for await (const status of provider.watch(ref, signal)) {
          if (await this.apply(run.id, status, provider, ref)) return;
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.ctx.metrics.providerErrors.inc({ pool_type: provider.type, operation: "watch", code: isFerryError(error) ? error.code : "unclassified" });
        this.logger.warn({ err: error, flow_run_id: run.id }, "watch failed; polling status instead");
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
          await this.ctx.events.wait(run.id, wait, signal);
          wait = Math.min(wait * 2, this.options.pollMaxMs ?? 10_000);
          continue;
        }
      }
      if (await this.apply(run.id, status, provider, ref)) return;
      // A state change (e.g. a cancel request) wakes the loop early.
      await this.ctx.events.wait(run.id, wait, signal);
      wait = Math.min(wait * 2, this.options.pollMaxMs ?? 10_000);
    }
  }

  /** Applies a platform status to the run. True when there is nothing left to follow. */
  private async apply(runId: string, status: InfrastructureStatus, provider: ComputeProvider, ref: InfrastructureRef): Promise<boolean> {
    const run = await this.ctx.store.getFlowRunForSystem(runId);
    if (!run || isTerminal(run.state.type)) return true;
    const change = stateForInfrastructureStatus(run.state, status);
    if (change) {
      const { entry } = await transitionRun(this.ctx, runId, change, {
        when: (r) => r.state.type === run.state.type && r.state.name === run.state.name,
      });
      if (!entry) return this.apply(runId, status, provider, ref); // changed under us (e.g. cancelled): judge again
      if (change.type === "CRASHED") await this.copyPlatformLogs(run, provider, ref);
    }
    return isFinalStatus(status);
  }

  private async requestStop(run: FlowRunRecord, ref?: InfrastructureRef): Promise<void> {
    const provider = this.ctx.registry.get(run.work_pool_type).provider!;
    const message = run.state.message ?? "cancelled by request";
    try {
      await provider.cancel(ref ?? (await this.refFor(run)), message);
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

  private async refFor(run: FlowRunRecord): Promise<InfrastructureRef> {
    const pool = await this.ctx.store.getWorkPoolById(run.workspace_id, run.work_pool_id);
    const credentials = pool?.credentials
      ? (await resolveCredentials(this.ctx.store, this.ctx.secrets, run.workspace_id, pool.credentials)).data
      : null;
    return { infrastructureId: run.infrastructure_id!, jobConfiguration: run.job_configuration ?? {}, credentials };
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

  private async transition(run: FlowRunRecord, change: StateChange): Promise<void> {
    try {
      await transitionRun(this.ctx, run.id, change);
    } catch (error) {
      if (!isFerryError(error, "invalid_transition")) throw error; // already ended some other way
    }
  }
}
