import {
  assertTransition,
  FerryError,
  timesForStateChange,
  type FlowRunFields,
  type FlowRunRecord,
  type LogLevel,
  type PoolTypeRegistry,
  type StateChange,
  type StateHistoryEntry,
  type Store,
  type StoreTx,
} from "@ferry/core";
import type { RunEventHub } from "../events.js";
import type { Metrics } from "../metrics.js";
import type { SecretBox } from "../secrets.js";

/** What the domain services share: the store, the pool types, the secret box, a clock, and who to wake. */
export interface ServiceContext {
  store: Store;
  registry: PoolTypeRegistry;
  secrets: SecretBox;
  events: RunEventHub;
  metrics: Metrics;
  now(): Date;
  /** Hooks the dispatcher fills in: told when a push run needs submitting or stopping, or a pool resumed. */
  dispatch: {
    runCreated(run: FlowRunRecord): void;
    runCancelling(run: FlowRunRecord): void;
    poolResumed(workspaceId: string, poolName: string): void;
  };
}

export interface TransitionOptions {
  /** Only act on a run of this workspace: another workspace's run is "not found". */
  workspaceId?: string;
  fields?: FlowRunFields;
  /**
   * Checked under the row lock: return false to leave the run as it is (e.g. the dispatcher only
   * claims a run that is still SCHEDULED).
   */
  when?: (run: FlowRunRecord) => boolean;
}

export interface TransitionResult {
  run: FlowRunRecord;
  entry: StateHistoryEntry | null;
}

/**
 * The one way a run changes state: lock the row, let core judge the transition, stamp the times, append
 * the history entry, then wake followers after the commit.
 */
export async function transitionRun(
  ctx: ServiceContext,
  runId: string,
  change: StateChange,
  options: TransitionOptions = {},
  tx?: StoreTx,
): Promise<TransitionResult> {
  const work = async (t: StoreTx): Promise<TransitionResult> => {
    const run = await t.lockFlowRun(runId);
    if (!run || (options.workspaceId && run.workspace_id !== options.workspaceId)) {
      throw new FerryError("not_found", `flow run '${runId}' was not found`);
    }
    if (options.when && !options.when(run)) return { run, entry: null };
    assertTransition(runId, run.state.type, change.type);
    const at = ctx.now().toISOString();
    const fields = { ...timesForStateChange(run, change.type, at), ...options.fields };
    const result = await t.setFlowRunState(runId, { ...change, timestamp: at }, fields);
    return result;
  };
  const result = tx ? await work(tx) : await ctx.store.transaction(work);
  if (result.entry) {
    ctx.metrics.transitions.inc({ state: change.type });
    if (!tx) ctx.events.notify(runId);
  }
  return result;
}

/** Writes control-plane lines into a run's log (source `ferry`), so a user sees what Ferry did and why. */
export async function logToRun(ctx: ServiceContext, run: FlowRunRecord, level: LogLevel, message: string): Promise<void> {
  await ctx.store.insertLogs(run.workspace_id, run.id, [{ level, message, timestamp: ctx.now().toISOString(), source: "ferry" }]);
  ctx.events.notify(run.id);
}
