import {
  assertTransition,
  FerryError,
  retryAfterEnd,
  timesForStateChange,
  type DeploymentRecord,
  type FlowRunFields,
  type FlowRunRecord,
  type LogLevel,
  type PoolTypeRegistry,
  type StateChange,
  type StateHistoryEntry,
  type Store,
  type WorkPoolRecord,
} from "@ferry/core";
import type { RunEventHub } from "../events.js";
import type { Metrics } from "../metrics.js";
import type { OidcVerifier } from "../oidc-verifier.js";
import type { RunTokens } from "../run-tokens.js";
import type { SecretBox } from "../secrets.js";

/** What the domain services share: the store, the pool types, the secret box, a clock, and who to wake. */
export interface ServiceContext {
  store: Store;
  registry: PoolTypeRegistry;
  secrets: SecretBox;
  runTokens: RunTokens;
  events: RunEventHub;
  metrics: Metrics;
  /** Verifies OIDC ID tokens against their issuers' keys (the token exchange). */
  oidc: OidcVerifier;
  /** Images managed pools may run: the official engine image and those the operator allows. */
  managedImages: { official: string; allowed: readonly string[] };
  /**
   * Why this server refuses a second workspace, or null. Set while managed runs run on the process
   * backend (as the server's own user, unisolated) and the operator has not allowed that to be shared.
   */
  singleWorkspace: { reason: string | null };
  now(): Date;
  /** Hooks the dispatcher fills in: told when a push run needs submitting or stopping, or a pool resumed. */
  dispatch: {
    /** The pool and deployment the run was created from, so the dispatcher need not read them again. */
    runCreated(run: FlowRunRecord, origin?: { pool: WorkPoolRecord; deployment: DeploymentRecord; owned?: boolean }): void;
    /**
     * The server to record as the owner of a run created now in the Submitting state (see
     * `NewFlowRun.owner_id`), or null: this server's push dispatcher drives such a run at once.
     */
    ownerOfNewRun(poolType: string): string | null;
    runCancelling(run: FlowRunRecord): void;
    /** A run ended through the API (its engine reported): a slot of its pool may have freed. */
    runEnded(run: FlowRunRecord): void;
    /** A pool was resumed, or its concurrency limit raised or removed: its waiting runs may start. */
    poolMayAdmit(pool: WorkPoolRecord): void;
    /** A deployment's schedules (or what its scheduled runs are made from) changed: the scheduler runs a pass. */
    schedulesChanged?(): void;
    /** A pool was paused or deleted: what was kept ready for its runs (warm engines) can go. */
    poolRetired?(pool: WorkPoolRecord): void;
  };
}

export interface TransitionOptions {
  /** Only act on a run of this workspace: another workspace's run is "not found". */
  workspaceId?: string;
  fields?: FlowRunFields;
  /**
   * Called with what was written, right after the write's notification and before anything it woke
   * runs: a follower that made the write itself can note the run as read (the row came back whole),
   * so its own notification does not send it to read the run again.
   */
  written?: (result: { run: FlowRunRecord; entry: StateHistoryEntry }) => void;
}

export interface TransitionResult {
  run: FlowRunRecord;
  /** Null when the decision was to leave the run as it was. */
  entry: StateHistoryEntry | null;
}

/** The next state, decided from the run as it is now; null leaves it as it is. */
export type Decide = StateChange | ((run: FlowRunRecord) => StateChange | null);

/**
 * The one way a run changes state. Optimistic: decide from the run as last seen, let core judge the
 * transition, then write it only if the run is still in that state (one statement). If something else
 * moved it meanwhile (the engine, a cancel, another server), read it again and decide anew. Followers
 * are woken after the write.
 *
 * Being the one way, it is also where a run's end becomes a retry: an attempt that would end FAILED
 * (or CRASHED, with retry_on_crash) with attempts left moves to AwaitingRetry instead (core's
 * `retryAfterEnd`), whoever saw the end (the engine, a dispatcher, a sweep), managed or push alike.
 * The next attempt starts from a clean slate: no infrastructure, the dispatchers admit it when due.
 */
export async function transitionRun(
  ctx: ServiceContext,
  target: string | FlowRunRecord,
  decide: Decide,
  options: TransitionOptions = {},
): Promise<TransitionResult> {
  const runId = typeof target === "string" ? target : target.id;
  let run: FlowRunRecord | null = typeof target === "string" ? null : target;
  for (let attempt = 0; attempt < 20; attempt++) {
    run ??= await ctx.store.getFlowRunForSystem(runId);
    if (!run || (options.workspaceId && run.workspace_id !== options.workspaceId)) {
      throw new FerryError("not_found", `flow run '${runId}' was not found`);
    }
    const decided = typeof decide === "function" ? decide(run) : decide;
    if (!decided) return { run, entry: null };
    const now = ctx.now();
    const retry = retryAfterEnd(run, decided, now);
    const change = retry?.change ?? decided;
    assertTransition(runId, run.state.type, change.type, change.name);
    const at = now.toISOString();
    const fields: FlowRunFields = retry
      ? { ...options.fields, infrastructure_id: null, attempt: retry.attempt, next_attempt_at: retry.next_attempt_at }
      : { ...timesForStateChange(run, change.type, at), ...options.fields };
    const result = await ctx.store.compareAndSetFlowRunState(runId, run.state, { ...change, timestamp: at }, fields);
    if (result) {
      ctx.metrics.transitions.inc({ state: change.type });
      ctx.events.notify(runId);
      options.written?.(result);
      return result;
    }
    run = null; // moved on under us: read it again
  }
  throw new FerryError("unavailable", `flow run ${runId} kept changing while being updated; try again`);
}

/** Refuses, before anything is written, a managed run's image the operator has not allowed. */
export function assertManagedImage(ctx: ServiceContext, poolType: string, jobVariables: Record<string, unknown>): void {
  if (!poolType.endsWith(":managed")) return;
  const image = jobVariables.image;
  if (image === undefined || image === ctx.managedImages.official || ctx.managedImages.allowed.includes(image as string)) return;
  throw new FerryError(
    "validation_failed",
    `image '${String(image)}' is not allowed on managed pools: use the official image (${ctx.managedImages.official}) and add what you need with pip_packages and npm_packages, or ask the operator to allow it (FERRY_ALLOWED_IMAGES)`,
  );
}

/** Writes control-plane lines into a run's log (source `ferry`), so a user sees what Ferry did and why. */
export async function logToRun(ctx: ServiceContext, run: FlowRunRecord, level: LogLevel, message: string): Promise<void> {
  await ctx.store.insertLogs(run.workspace_id, run.id, [{ level, message, timestamp: ctx.now().toISOString(), source: "ferry" }]);
  ctx.events.notify(run.id);
}
