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
  type RunnerInstance,
  type WorkPoolRecord,
} from "@ferry/core";
import type { DispatcherLogger } from "./dispatcher.js";
import { logToRun, transitionRun, type ServiceContext } from "./services/context.js";
import { issueBootstrapToken } from "./services/run-credentials.js";
import { leaseMsFor } from "./server-lease.js";
import { PeriodicSweep } from "./sweep.js";
import { WarmEnginePool } from "./warm-engine-pool.js";

export interface ManagedDispatcherOptions {
  /** This server's identity among those on the database (see ServerLease): the owner it records on the runs it follows. */
  serverId: string;
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
  /** Longest pause between two attempts to stop a cancelled run's instance that failed (default 30 s). */
  stopRetryMaxMs?: number;
  /** Warm engines per managed pool and in all (FERRY_WARM_ENGINES, FERRY_WARM_ENGINES_MAX); none by default here. */
  warmEngines?: { perPool: number; max: number };
}

interface Watched {
  instanceId: string;
  /** The run's attempt this instance runs: its exit says nothing about a later attempt (a retry). */
  attempt: number;
  /** Compute seconds of the run's earlier attempts, to which this instance's own are added. */
  computeBefore: number;
  controller: AbortController;
  timedOut: boolean;
  timer?: NodeJS.Timeout;
  done: Promise<void>;
  /** Stopping the instance of a cancelled run: whether the backend did, and when to try again after a failure. */
  stop: { confirmed: boolean; failures: number; nextAt: number; inFlight: boolean; retry?: NodeJS.Timeout };
}

/**
 * Runs the runs of `ferry:managed` pools on a RunnerBackend, within the workspace's tier and each pool's
 * concurrency limit: a slot per concurrent run (the excess waits in AwaitingConcurrencySlot, first in
 * first out), the month's compute hours, the memory and runtime limits. Admission is core's
 * `decideAdmission`, applied under the workspace's row lock with compare-and-set writes, so several
 * server processes on one PostgreSQL never overshoot a limit.
 *
 * A run is followed by the server that claimed it (`claimFlowRun`, see ServerLease). At start and at
 * every sweep, the runs without a live owner are taken up (`recover`). A cancel is a stored state
 * (CANCELLING): the run's follower sees it (woken by the write, by NOTIFY from the server that took the
 * request, or at its next read) and stops the instance, again after a growing pause while that fails.
 */
export class ManagedDispatcher {
  private readonly watched = new Map<string, Watched>();
  /** Runs whose launch is under way in this process. */
  private readonly launching = new Set<string>();
  /** Launches under way: `stop` waits for them, so none writes to a store its server has closed. */
  private readonly launches = new Set<Promise<void>>();
  /** Started runs whose instance this server cannot see, with when it first found them so (see recover). */
  private readonly unseen = new Map<string, number>();
  private readonly admitting = new Map<string, Promise<void>>();
  private readonly readmit = new Set<string>();
  private readonly sweeper: PeriodicSweep;
  /** Null when the backend has no warm engines or the operator turned them off. */
  private readonly warmPool: WarmEnginePool | null;
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
    const warm = options.warmEngines;
    this.warmPool = backend.warm && warm && warm.perPool > 0 && warm.max > 0 ? new WarmEnginePool(backend.warm, logger, warm) : null;
  }

  /** The warm engines of each pool, by pool id: what `FERRY_WARM_ENGINES` keeps ready (empty when off). */
  warmEngines(): Map<string, { id: string; workspaceId: string }[]> {
    const out = new Map<string, { id: string; workspaceId: string }[]>();
    for (const [poolId, engines] of this.warmPool?.snapshot() ?? []) out.set(poolId, engines.map((e) => ({ id: e.id, workspaceId: e.spec.workspaceId })));
    return out;
  }

  /** Removes leftovers of ended runs, takes up the unfinished runs no live server follows, then admits what waits. */
  async start(): Promise<void> {
    const instances = await this.backend.list();
    for (const instance of instances) {
      const run = await this.ctx.store.getFlowRunForSystem(instance.flowRunId);
      // An instance of a run this store does not know may belong to another Ferry server on the same
      // Docker host: leave it alone.
      if (!run || !isTerminal(run.state.type)) continue;
      await this.backend.remove(instance.id).catch((error) => this.logger.warn({ err: error, id: instance.id }, "could not remove a leftover run instance"));
    }
    const { workspaces } = await this.recover(instances);
    for (const ws of workspaces) this.admit(ws);
    this.sweeper.start();
  }

  /**
   * Takes up the unfinished managed runs that this server may claim and nothing here follows: re-attaches
   * to a run's instance; launches a run whose start was never recorded (the backend's start is idempotent
   * per run, so an instance that did start is found, and one whose launch was cut short is started
   * anew); ends as CRASHED, saying why, a run that started and whose instance is gone. A cancelled run's
   * instance is stopped, and one that never started is CANCELLED. The backend is listed only when some
   * run needs it. Returns the workspaces with waiting runs, and how many runs were taken up.
   */
  private async recover(known?: RunnerInstance[]): Promise<{ workspaces: Set<string>; picked: number }> {
    const workspaces = new Set<string>();
    let byRun: Map<string, RunnerInstance> | null = known ? new Map(known.map((i) => [i.flowRunId, i])) : null;
    let picked = 0;
    let after: string | undefined;
    while (!this.stopped) {
      const runs = await this.ctx.store.listUnfinishedFlowRuns({ pool_kind: "managed", limit: 500, after_id: after, claimable_by: this.options.serverId });
      for (const run of runs) {
        if (run.state.type === "SCHEDULED") {
          workspaces.add(run.workspace_id);
          continue;
        }
        const watched = this.watched.get(run.id);
        if (watched) {
          if (run.state.type === "CANCELLING") void this.requestStop(run, watched);
          continue;
        }
        if (this.launching.has(run.id)) continue;
        byRun ??= new Map((await this.backend.list()).map((i) => [i.flowRunId, i]));
        const instance = byRun.get(run.id);
        if (run.infrastructure_id && !instance && !this.unseenLongEnough(run.id)) continue;
        if (!(await this.ctx.store.claimFlowRun(run.id, this.options.serverId))) continue;
        this.unseen.delete(run.id);
        picked++;
        if (!run.infrastructure_id) {
          if (run.state.type === "CANCELLING" && !instance) await this.finish(run, stateChange("CANCELLED", { message: "cancelled before the run started" }));
          else this.startLaunch(run); // stops it at once if it is CANCELLING
        } else if (instance) {
          this.watch(run, instance.id, instance.startedAt);
        } else {
          await this.finish(run, stateChange("CRASHED", { message: lostMessage(run.infrastructure_id, this.backend.name) }));
        }
      }
      if (runs.length < 500) break;
      after = runs[runs.length - 1]!.id;
    }
    return { workspaces, picked };
  }

  /**
   * A started run whose instance is not on this server's runner is declared lost only after it stayed
   * so, without a live owner, for two leases: its owner may be alive and merely late to renew (after
   * the database was unreachable for a while), and only it can see the instance.
   */
  private unseenLongEnough(runId: string): boolean {
    const now = Date.now();
    const first = this.unseen.get(runId);
    if (first === undefined) {
      if (this.unseen.size >= 10_000) this.unseen.clear();
      this.unseen.set(runId, now);
    }
    return now - (first ?? now) >= 2 * leaseMsFor(this.options.sweepIntervalMs ?? 2000);
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
    const warmStopped = this.warmPool?.stop().catch((error: unknown) => this.logger.warn({ err: error }, "could not end the warm engines"));
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
    // A launch under way ends before the store closes (its instance, if started, is left to the next start).
    await Promise.allSettled([...this.launches]);
    // After the admissions: a launch under way may have just asked for a replacement.
    await warmStopped;
    await this.warmPool?.stop().catch((error: unknown) => this.logger.warn({ err: error }, "could not end the warm engines"));
  }

  runCreated(run: FlowRunRecord): void {
    if (isManagedType(run.work_pool_type)) this.admit(run.workspace_id);
  }

  runEnded(run: FlowRunRecord): void {
    if (isManagedType(run.work_pool_type)) this.admit(run.workspace_id);
  }

  runCancelling(run: FlowRunRecord): void {
    if (!isManagedType(run.work_pool_type)) return;
    const watched = this.watched.get(run.id);
    if (watched) void this.requestStop(run, watched);
    // Being launched here: its follower, once it starts, sees CANCELLING and stops it. Followed by another
    // server: that one is woken by the write. Followed by none (its server died): a sweep takes it up.
  }

  poolMayAdmit(pool: WorkPoolRecord): void {
    if (isManagedType(pool.type)) this.admit(pool.workspace_id);
  }

  /** A pool was paused or deleted: its warm engines end (a pool on another server is seen at the sweep). */
  poolRetired(pool: WorkPoolRecord): void {
    if (isManagedType(pool.type)) void this.warmPool?.dropPool(pool.id);
  }

  /** Looks at every workspace's queue now (the periodic sweep does so every interval). */
  sweep(): Promise<number> {
    return this.sweeper.now();
  }

  /** Takes up the runs no live server follows, retries due stops, and asks for an admission pass of each workspace with waiting runs. */
  private async sweepOnce(): Promise<number> {
    const { workspaces, picked } = await this.recover();
    for (const ws of workspaces) this.admit(ws);
    await this.sweepWarmEngines();
    return picked;
  }

  /** Warm engines of pools paused or deleted (here or on another server) end; dead ones are replaced. */
  private async sweepWarmEngines(): Promise<void> {
    if (!this.warmPool) return;
    for (const { poolId, workspaceId } of this.warmPool.warmedPools()) {
      const pool = await this.ctx.store.getWorkPoolById(workspaceId, poolId);
      if (!pool || pool.paused) await this.warmPool.dropPool(poolId);
    }
    await this.warmPool.prune();
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
      // A scheduled run is not due before its expected start.
      const queued = await tx.listQueuedFlowRuns({ pool_kind: "managed", workspace_id: workspaceId, limit: 1000, due_at: at });
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
        deployments: await tx.deploymentConcurrency(workspaceId, queued.map((r) => r.deployment_id)),
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
    for (const run of decided.admitted) this.startLaunch(run);
    if (decided.again) this.readmit.add(workspaceId);
  }

  /** Starts an admitted run's engine and follows it. */
  private async launch(run: FlowRunRecord): Promise<void> {
    if (this.launching.has(run.id)) return;
    const previous = this.watched.get(run.id);
    if (previous && previous.attempt >= run.attempt) return;
    this.launching.add(run.id);
    try {
      // A retry admitted while its previous attempt's instance is still ending: that one is settled
      // (its compute time counted) before the next starts, so one run never has two instances.
      if (previous) await previous.done;
      // Another live server may have taken it up first: then it is that server's to launch.
      if (!(await this.ctx.store.claimFlowRun(run.id, this.options.serverId))) return;
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
      const spec = {
        flowRunId: run.id,
        workspaceId: run.workspace_id,
        image,
        env,
        memoryMib: limits.memory_mib,
        cpus: limits.cpus,
        cacheKey: cacheKey(run.workspace_id, image, config.pip_packages ?? [], config.npm_packages ?? []),
        maxRuntimeSeconds: limits.max_runtime_seconds,
        workPoolId: run.work_pool_id,
      };
      // A warm engine of the run's own pool, made for runs like it, when there is one; else a cold start.
      const warmed = await this.warmPool?.take(run.work_pool_id, spec) ?? null;
      const started = warmed ?? (await this.backend.start(spec));
      const updated = await this.ctx.store.updateFlowRun(run.id, { infrastructure_id: `${this.backend.name}:${started.id}` });
      await logToRun(this.ctx, run, "info", `Started on ${this.backend.name} (${started.id.slice(0, 12)}${warmed ? ", a warm engine" : ""}), memory ${limits.memory_mib} MiB, up to ${limits.max_runtime_seconds} s`);
      // Watching reads the run again first: a cancel written meanwhile stops the instance at once.
      this.watch(updated ?? run, started.id, started.startedAt);
    } catch (error) {
      this.logger.error({ err: error, flow_run_id: run.id }, "could not start a managed run");
      const message = isFerryError(error) ? error.message : (error as Error).message;
      await this.finish(run, stateChange("CRASHED", { message: `could not start the run on ${this.backend.name}: ${message}` }));
    } finally {
      this.launching.delete(run.id);
    }
  }

  private startLaunch(run: FlowRunRecord): void {
    const launch: Promise<void> = this.launch(run)
      .catch((error: unknown) => this.logger.error({ err: error, flow_run_id: run.id }, "could not record a managed run's failed start"))
      .finally(() => this.launches.delete(launch));
    this.launches.add(launch);
  }

  /** Waits for the instance to end, stopping it at the runtime limit, then settles the run and frees its slot. */
  private watch(run: FlowRunRecord, id: string, startedAtIso: string | null): void {
    if (this.watched.has(run.id) || this.stopped) return;
    const controller = new AbortController();
    const entry: Watched = { instanceId: id, attempt: run.attempt, computeBefore: run.compute_seconds, controller, timedOut: false, done: Promise.resolve(), stop: { confirmed: false, failures: 0, nextAt: 0, inFlight: false } };
    this.watched.set(run.id, entry);
    const exited = new AbortController();
    void this.followCancels(run, entry, AbortSignal.any([controller.signal, exited.signal]));
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
        clearTimeout(entry.stop.retry);
        exited.abort();
      }
      await this.settle(run.id, id, exit, { memoryMib: limits.memory_mib, maxRuntimeSeconds: limits.max_runtime_seconds, timedOut: entry.timedOut }, entry);
    })()
      .catch((error) => this.logger.error({ err: error, flow_run_id: run.id }, "following a managed run failed"))
      .finally(() => {
        this.watched.delete(run.id);
        this.admit(run.workspace_id);
      });
  }

  /**
   * While a run's instance runs, reads the run at each of its notifications (and every five sweep
   * intervals, for a lost one): a cancel written by any server stops the instance.
   */
  private async followCancels(run: FlowRunRecord, entry: Watched, signal: AbortSignal): Promise<void> {
    const interval = 5 * (this.options.sweepIntervalMs ?? 2000);
    try {
      while (!signal.aborted) {
        const seen = this.ctx.events.version(run.id);
        const current = await this.ctx.store.getFlowRunForSystem(run.id);
        if (!current || isTerminal(current.state.type)) return;
        if (current.state.type === "CANCELLING") {
          await this.requestStop(current, entry);
          return;
        }
        await this.ctx.events.wait(run.id, interval, signal, seen);
      }
    } catch (error) {
      this.logger.warn({ err: error, flow_run_id: run.id }, "could not re-read a followed managed run; the sweep looks at it again");
    }
  }

  /**
   * Stops the instance of a cancelled run. On failure the run stays CANCELLING, the failure goes to its
   * log, and the stop is tried again after a pause that doubles each time (also by the sweep).
   */
  private async requestStop(run: FlowRunRecord, entry: Watched): Promise<void> {
    const stop = entry.stop;
    if (stop.confirmed || stop.inFlight || Date.now() < stop.nextAt || entry.controller.signal.aborted) return;
    stop.inFlight = true;
    try {
      await this.backend.stop(entry.instanceId, run.state.message ?? "cancelled");
      stop.confirmed = true;
    } catch (error) {
      stop.failures++;
      const pause = Math.min(1000 * 2 ** (stop.failures - 1), this.options.stopRetryMaxMs ?? 30_000);
      stop.nextAt = Date.now() + pause;
      const message = `Could not stop the run's ${this.backend.name} instance (attempt ${stop.failures}): ${(error as Error).message}. ` +
        `The run stays CANCELLING until it is stopped; trying again in ${Math.round(pause / 100) / 10} s`;
      this.logger.warn({ err: error, flow_run_id: run.id }, "could not stop a cancelled run's instance");
      await logToRun(this.ctx, run, "error", message).catch(() => undefined);
      clearTimeout(stop.retry);
      stop.retry = setTimeout(() => void this.requestStop(run, entry), pause);
      stop.retry.unref();
    } finally {
      stop.inFlight = false;
    }
  }

  private async settle(
    runId: string,
    id: string,
    exit: RunnerExit,
    limits: { memoryMib: number; maxRuntimeSeconds: number; timedOut: boolean },
    attempt: { attempt: number; computeBefore: number },
  ): Promise<void> {
    const run = await this.ctx.store.getFlowRunForSystem(runId);
    if (!run) return;
    // A run's compute time is the sum of its attempts' instances.
    const computeSeconds = attempt.computeBefore + Math.max(0, (Date.parse(exit.finishedAt) - Date.parse(exit.startedAt)) / 1000);
    const decide = (r: FlowRunRecord) => (r.attempt === attempt.attempt ? stateForRunnerExit(r.state, exit, limits) : null);
    const change = decide(run);
    if (change?.type === "CRASHED" && exit.tail.length) {
      await this.ctx.store.insertLogs(run.workspace_id, run.id, exit.tail.slice(-20).map((line) => ({
        level: "info" as const, message: line, timestamp: exit.finishedAt, source: this.backend.name,
      })));
    }
    // Compute time is the container's own, from its start to its end, whatever state the run ended in
    // (the engine may have reported the final state a moment before its container stopped).
    const fields = { compute_seconds: computeSeconds, start_time: run.start_time ?? exit.startedAt };
    const { entry } = await transitionRun(this.ctx, run, decide, { fields });
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

/** Why a run that started (it has an infrastructure id) and has no instance any more cannot be followed. */
function lostMessage(infrastructureId: string, backend: string): string {
  const colon = infrastructureId.indexOf(":");
  const startedOn = colon >= 0 ? infrastructureId.slice(0, colon) : backend;
  if (startedOn !== backend) {
    return `the run started on the ${startedOn} backend (${infrastructureId}), which no live server follows, and this server runs ${backend}: it cannot reach the run any more`;
  }
  return `the run started (${infrastructureId}) and its instance is gone: it ended or was removed while no server followed it`;
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
