import { createHash } from "node:crypto";
import {
  decideAdmission,
  effectiveLimits,
  ENGINE_ENV,
  isFerryError,
  isManagedType,
  isTerminal,
  monthStartUtc,
  stateChange,
  stateForRunnerExit,
  type AdmissionPool,
  type FlowRunRecord,
  type RunnerBackend,
  type RunnerExit,
  type WorkPoolRecord,
} from "@ferry/core";
import type { DispatcherLogger } from "./dispatcher.js";
import { logToRun, transitionRun, type ServiceContext } from "./services/context.js";
import { issueBootstrapToken } from "./services/run-credentials.js";
import { PeriodicSweep } from "./sweep.js";

export interface ManagedDispatcherOptions {
  /** URL the engine uses to reach this server (from inside a container, or the host for processes). */
  engineApiUrl: string;
  /** The official engine image; managed runs use it unless the operator allows others. */
  engineImage: string;
  /** Further images the operator allows in managed pools (exact names). */
  allowedImages: string[];
  /** Variables every managed run gets (operator settings such as PIP_INDEX_URL or NODE_EXTRA_CA_CERTS). */
  runnerEnv: Record<string, string>;
  /** How often every workspace's queue is looked at, besides the wake-ups a run's end gives (default 2000 ms). */
  sweepIntervalMs?: number;
}

interface Watched {
  controller: AbortController;
  timedOut: boolean;
  timer?: NodeJS.Timeout;
  done: Promise<void>;
}

/**
 * Runs the runs of `ferry:managed` pools on a RunnerBackend, within the workspace's tier and each pool's
 * concurrency limit: a slot per concurrent run (the excess waits in AwaitingConcurrencySlot, first in
 * first out), the month's compute hours, the memory and runtime limits. Admission is core's
 * `decideAdmission`, applied under the workspace's row lock with compare-and-set writes, so several
 * server processes on one PostgreSQL never overshoot a limit.
 */
export class ManagedDispatcher {
  private readonly watched = new Map<string, Watched>();
  private readonly admitting = new Map<string, Promise<void>>();
  private readonly readmit = new Set<string>();
  private readonly sweeper: PeriodicSweep;
  private stopped = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly backend: RunnerBackend,
    private readonly logger: DispatcherLogger,
    private readonly options: ManagedDispatcherOptions,
  ) {
    this.sweeper = new PeriodicSweep(() => this.sweepOnce(), {
      dispatcher: "managed",
      intervalMs: options.sweepIntervalMs ?? 2000,
      logger,
      metrics: ctx.metrics,
    });
  }

  /** Re-attaches to instances of unfinished runs, removes leftovers of ended ones, then admits what waits. */
  async start(): Promise<void> {
    const instances = await this.backend.list();
    const byRun = new Map(instances.map((i) => [i.flowRunId, i]));
    for (const instance of instances) {
      const run = await this.ctx.store.getFlowRunForSystem(instance.flowRunId);
      // An instance of a run this store does not know may belong to another Ferry server on the same
      // Docker host: leave it alone.
      if (!run) continue;
      if (isTerminal(run.state.type)) {
        await this.backend.remove(instance.id).catch((error) => this.logger.warn({ err: error, id: instance.id }, "could not remove a leftover run instance"));
        continue;
      }
      this.watch(run, instance.id, instance.startedAt);
    }
    const workspaces = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const runs = await this.ctx.store.listUnfinishedFlowRuns({ pool_kind: "managed", limit: 500, after_id: after });
      for (const run of runs) {
        workspaces.add(run.workspace_id);
        if (run.state.type === "SCHEDULED" || byRun.has(run.id)) continue;
        if (run.infrastructure_id) {
          // It was started, and its instance is gone: nothing can report for it any more.
          await this.finish(run, stateChange("CRASHED", { message: "the run's container disappeared while the server was down" }));
        } else {
          void this.launch(run); // admitted, not started yet: start is idempotent per run
        }
      }
      if (runs.length < 500) break;
      after = runs[runs.length - 1]!.id;
    }
    for (const ws of workspaces) this.admit(ws);
    this.sweeper.start();
  }

  /**
   * Stops watching. Instances of running runs keep running and are re-attached by the next start. A run
   * whose engine has already reported its end only waits for its instance to exit: that exit is read,
   * metered and the instance removed, for up to `graceMs`, since a next start may never come (`npm start`
   * closes its server as soon as the last run ends) and would not meter it.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    await this.sweeper.stop();
    const abort = (w: Watched) => {
      clearTimeout(w.timer);
      w.controller.abort();
    };
    const ending: Watched[] = [];
    for (const [runId, w] of [...this.watched]) {
      const run = await this.ctx.store.getFlowRunForSystem(runId).catch(() => null);
      if (run && isTerminal(run.state.type)) ending.push(w);
      else abort(w);
    }
    if (ending.length) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled(ending.map((w) => w.done)), grace]);
      clearTimeout(timer);
      // Past the grace, an instance that has not exited is left to the next start, which removes it.
      for (const w of ending) abort(w);
    }
    await Promise.allSettled([...this.watched.values()].map((w) => w.done));
    await Promise.allSettled([...this.admitting.values()]);
  }

  runCreated(run: FlowRunRecord): void {
    if (isManagedType(run.work_pool_type)) this.admit(run.workspace_id);
  }

  runEnded(run: FlowRunRecord): void {
    if (isManagedType(run.work_pool_type)) this.admit(run.workspace_id);
  }

  runCancelling(run: FlowRunRecord): void {
    if (!isManagedType(run.work_pool_type)) return;
    const instance = run.infrastructure_id ? instanceId(run.infrastructure_id) : null;
    if (instance) {
      void this.backend.stop(instance, run.state.message ?? "cancelled").catch((error) => this.logger.warn({ err: error, flow_run_id: run.id }, "could not stop a cancelled run"));
    }
    // Not started yet: launch() sees CANCELLING and ends it; admitted-but-unlaunched runs are handled there too.
  }

  poolMayAdmit(pool: WorkPoolRecord): void {
    if (isManagedType(pool.type)) this.admit(pool.workspace_id);
  }

  /** Looks at every workspace's queue now (the periodic sweep does so every interval). */
  sweep(): Promise<number> {
    return this.sweeper.now();
  }

  /** Asks for an admission pass of each workspace with waiting managed runs; picks up no run itself. */
  private async sweepOnce(): Promise<number> {
    const queued = await this.ctx.store.listQueuedFlowRuns({ pool_kind: "managed", limit: 200 });
    for (const ws of new Set(queued.map((r) => r.workspace_id))) this.admit(ws);
    return 0;
  }

  /** One admission pass per workspace at a time; a request during a pass runs another pass after it. */
  private admit(workspaceId: string): void {
    if (this.stopped) return;
    if (this.admitting.has(workspaceId)) {
      this.readmit.add(workspaceId);
      return;
    }
    const pass = this.admitPass(workspaceId)
      .catch((error) => this.logger.error({ err: error, workspace_id: workspaceId }, "managed admission failed"))
      .finally(() => {
        this.admitting.delete(workspaceId);
        if (this.readmit.delete(workspaceId)) this.admit(workspaceId);
      });
    this.admitting.set(workspaceId, pass);
  }

  /**
   * One admission pass of a workspace: its waiting managed runs (oldest first), its tier's usage and
   * its pools' active counts go to `decideAdmission`, under the workspace's lock; each decision is
   * written with a compare-and-set, then the admitted runs are launched.
   */
  private async admitPass(workspaceId: string): Promise<void> {
    const decided = await this.ctx.store.transaction(async (tx) => {
      const result = { admitted: [] as FlowRunRecord[], touched: [] as string[], again: false };
      const ws = await tx.lockWorkspace(workspaceId);
      if (!ws) return result;
      // Stamped under the lock: a run is never admitted "before" the end that freed its slot.
      const now = this.ctx.now();
      const at = now.toISOString();
      const queued = await tx.listQueuedFlowRuns({ pool_kind: "managed", workspace_id: workspaceId, limit: 1000 });
      if (!queued.length) return result;
      const limits = effectiveLimits(ws.tier, ws.limits_override);
      const usage = await tx.managedUsage(workspaceId, monthStartUtc(now).toISOString());
      const pools = new Map<string, AdmissionPool>();
      for (const pool of await tx.listWorkPools(workspaceId)) {
        // Only a pool with a limit needs its count: the others are never full.
        const active = pool.concurrency_limit === null ? 0 : await tx.countActiveFlowRunsInPool(pool.id);
        pools.set(pool.id, { name: pool.name, paused: pool.paused, concurrency_limit: pool.concurrency_limit, active });
      }
      const decisions = decideAdmission({
        queued,
        pools,
        tier: { tier: ws.tier, limits, activeManagedRuns: usage.concurrent_managed_runs, computeSecondsThisMonth: usage.compute_seconds },
        admitted: stateChange("PENDING", { message: `starting on ${this.backend.name}` }),
      });
      for (const decision of decisions) {
        if (!decision.change) continue;
        const fields = decision.action === "cancel" ? { end_time: at } : undefined;
        const written = await tx.compareAndSetFlowRunState(decision.run.id, decision.run.state, { ...decision.change, timestamp: at }, fields);
        if (written) {
          result.touched.push(decision.run.id);
          if (decision.action === "admit") result.admitted.push(written.run);
        } else if (decision.action === "admit") {
          // The run moved meanwhile (cancelled): the slot counted for it may be free for another.
          result.again = true;
        }
      }
      return result;
    });
    for (const id of decided.touched) this.ctx.events.notify(id);
    for (const run of decided.admitted) void this.launch(run);
    if (decided.again) this.readmit.add(workspaceId);
  }

  /** Starts an admitted run's engine and follows it. */
  private async launch(run: FlowRunRecord): Promise<void> {
    try {
      const ws = await this.ctx.store.getWorkspace(run.workspace_id);
      if (!ws) return;
      const limits = effectiveLimits(ws.tier, ws.limits_override);
      const config = (run.job_configuration ?? {}) as { image?: string; pip_packages?: string[]; npm_packages?: string[]; env?: Record<string, string> };
      const image = config.image ?? this.options.engineImage;
      if (image !== this.options.engineImage && !this.options.allowedImages.includes(image)) {
        await this.finish(run, stateChange("CRASHED", {
          message: `image '${image}' is not allowed on managed pools; use the official image (${this.options.engineImage}) with pip_packages/npm_packages, or ask the operator to allow it (FERRY_ALLOWED_IMAGES)`,
        }));
        return;
      }
      // As for push runs: the container's environment is visible to whoever may inspect it, so it
      // carries a single-use token the engine trades for the run token.
      const token = await issueBootstrapToken(this.ctx, run, Math.floor(Date.now() / 1000) + limits.max_runtime_seconds + 600);
      const env: Record<string, string> = {
        ...(config.env ?? {}),
        ...this.options.runnerEnv,
        [ENGINE_ENV.apiUrl]: this.options.engineApiUrl,
        [ENGINE_ENV.flowRunId]: run.id,
        [ENGINE_ENV.bootstrapToken]: token,
      };
      const started = await this.backend.start({
        flowRunId: run.id,
        workspaceId: run.workspace_id,
        image,
        env,
        memoryMib: limits.memory_mib,
        cpus: limits.cpus,
        cacheKey: cacheKey(run.workspace_id, image, config.pip_packages ?? [], config.npm_packages ?? []),
      });
      const updated = await this.ctx.store.updateFlowRun(run.id, { infrastructure_id: `${this.backend.name}:${started.id}` });
      await logToRun(this.ctx, run, "info", `Started on ${this.backend.name} (${started.id.slice(0, 12)}), memory ${limits.memory_mib} MiB, up to ${limits.max_runtime_seconds} s`);
      const current = updated ?? run;
      if (current.state.type === "CANCELLING") await this.backend.stop(started.id, current.state.message ?? "cancelled");
      this.watch(current, started.id, started.startedAt);
    } catch (error) {
      this.logger.error({ err: error, flow_run_id: run.id }, "could not start a managed run");
      const message = isFerryError(error) ? error.message : (error as Error).message;
      await this.finish(run, stateChange("CRASHED", { message: `could not start the run on ${this.backend.name}: ${message}` }));
    }
  }

  /** Waits for the instance to end, stopping it at the runtime limit, then settles the run and frees its slot. */
  private watch(run: FlowRunRecord, id: string, startedAtIso: string | null): void {
    if (this.watched.has(run.id) || this.stopped) return;
    const controller = new AbortController();
    const entry: Watched = { controller, timedOut: false, done: Promise.resolve() };
    this.watched.set(run.id, entry);
    entry.done = (async () => {
      const ws = await this.ctx.store.getWorkspace(run.workspace_id);
      const limits = effectiveLimits(ws?.tier ?? "free", ws?.limits_override);
      const startedAt = startedAtIso ? Date.parse(startedAtIso) : Date.now();
      const remaining = Math.max(0, startedAt + limits.max_runtime_seconds * 1000 - Date.now());
      entry.timer = setTimeout(() => {
        entry.timedOut = true;
        void this.backend.stop(id, "the maximum runtime was reached").catch((error) => this.logger.warn({ err: error }, "could not stop a run at its runtime limit"));
      }, remaining);
      let exit: RunnerExit;
      try {
        exit = await this.backend.wait(id, controller.signal);
      } catch (error) {
        if (controller.signal.aborted) return;
        if (isFerryError(error, "not_found")) {
          await this.finish(run, stateChange("CRASHED", { message: "the run's container disappeared" }));
          return;
        }
        throw error;
      } finally {
        clearTimeout(entry.timer);
      }
      await this.settle(run.id, id, exit, { memoryMib: limits.memory_mib, maxRuntimeSeconds: limits.max_runtime_seconds, timedOut: entry.timedOut });
    })()
      .catch((error) => this.logger.error({ err: error, flow_run_id: run.id }, "following a managed run failed"))
      .finally(() => {
        this.watched.delete(run.id);
        this.admit(run.workspace_id);
      });
  }

  private async settle(runId: string, id: string, exit: RunnerExit, limits: { memoryMib: number; maxRuntimeSeconds: number; timedOut: boolean }): Promise<void> {
    const run = await this.ctx.store.getFlowRunForSystem(runId);
    if (!run) return;
    const computeSeconds = Math.max(0, (Date.parse(exit.finishedAt) - Date.parse(exit.startedAt)) / 1000);
    const change = stateForRunnerExit(run.state, exit, limits);
    if (change?.type === "CRASHED" && exit.tail.length) {
      await this.ctx.store.insertLogs(run.workspace_id, run.id, exit.tail.slice(-20).map((line) => ({
        level: "info" as const, message: line, timestamp: exit.finishedAt, source: this.backend.name,
      })));
    }
    // Compute time is the container's own, from its start to its end, whatever state the run ended in
    // (the engine may have reported the final state a moment before its container stopped).
    const fields = { compute_seconds: computeSeconds, start_time: run.start_time ?? exit.startedAt };
    const { entry } = await transitionRun(this.ctx, run, (r) => stateForRunnerExit(r.state, exit, limits), { fields });
    if (!entry) await this.ctx.store.updateFlowRun(run.id, fields);
    await this.backend.remove(id).catch((error) => this.logger.warn({ err: error, id }, "could not remove a finished run's container"));
  }

  private async finish(run: FlowRunRecord, change: ReturnType<typeof stateChange>): Promise<void> {
    try {
      await logToRun(this.ctx, run, "error", change.message ?? change.name);
      await transitionRun(this.ctx, run, (r) => (isTerminal(r.state.type) ? null : r.state.type === "CANCELLING" ? stateChange("CANCELLED", { message: r.state.message }) : change));
    } catch (error) {
      if (!isFerryError(error, "invalid_transition")) throw error;
    } finally {
      this.admit(run.workspace_id);
    }
  }
}

/** `docker:3f2a…` → `3f2a…`: the backend's own id inside the run's infrastructure id. */
function instanceId(infrastructureId: string): string {
  const colon = infrastructureId.indexOf(":");
  return colon >= 0 ? infrastructureId.slice(colon + 1) : infrastructureId;
}

/**
 * Runs of one workspace with the same image and packages share a dependency cache; runs of two
 * workspaces never do, since a run can write its cache (one tenant could plant code in another's
 * flows). The backend also names each cache after its workspace.
 */
export function cacheKey(workspaceId: string, image: string, pip: string[], npm: string[]): string {
  const text = JSON.stringify({ workspace: workspaceId, image, pip: [...pip].sort(), npm: [...npm].sort() });
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}
