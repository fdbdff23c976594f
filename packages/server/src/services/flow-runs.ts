import { randomBytes } from "node:crypto";
import {
  assertComputeHoursLeft,
  collectPage,
  decodeCursor,
  effectiveLimits,
  encodeCursor,
  FerryError,
  idempotencyConflict,
  isManagedType,
  isPushType,
  isStateType,
  isTerminal,
  monthStartUtc,
  newId,
  notFound,
  renderJobConfiguration,
  resolveJobVariablesWith,
  stateChange,
  validateJobVariables,
  validateWithSchema,
  validationError,
  type FlowRun,
  type FlowRunCreate,
  type FlowRunFields,
  type FlowRunFilter,
  type FlowRunListQuery,
  type FlowRunRecord,
  type LogInput,
  type LogLine,
  type Page,
  type SetState,
  type StateChange,
  type WorkPoolRecord,
  type DeploymentRecord,
  type NewFlowRun,
  type StateType,
  type StoreTx,
  type WorkspaceRecord,
  isUuid,
  resolveRetryPolicy,
} from "@ferry/core";
import { assertManagedImage, transitionRun, type ServiceContext } from "./context.js";
import { listPage } from "./lists.js";

/** How long an idempotency key keeps returning the run it created. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;


export function toFlowRun(record: FlowRunRecord): FlowRun {
  const { workspace_id: _ws, work_pool_id: _pool, ...run } = record;
  return run;
}

export async function getRunOrThrow(ctx: ServiceContext, ws: WorkspaceRecord, id: string): Promise<FlowRunRecord> {
  const run = isUuid(id) ? await ctx.store.getFlowRun(ws.id, id) : null;
  if (!run) throw notFound("flow run", id, "list runs with 'ferry flow-run ls'");
  return run;
}

/**
 * Creates a run of a deployment. Parameters and job variables are checked before anything is written;
 * the rendered job configuration is kept on the run, so what ran can be read back later.
 */
export async function createFlowRun(
  ctx: ServiceContext,
  ws: WorkspaceRecord,
  deploymentId: string,
  input: FlowRunCreate,
  /** What a re-run carries over from its original (see retryFlowRun). */
  rerun?: Pick<NewFlowRun, "source_commit" | "rerun_of" | "parameters">,
): Promise<{ flow_run: FlowRun; created: boolean }> {
  const found = isUuid(deploymentId) ? await ctx.store.getDeploymentAndPool(ws.id, deploymentId) : null;
  if (!found) throw notFound("deployment", deploymentId, "list deployments with 'ferry deployment ls'");
  const { deployment, pool } = found;
  const record = { ...newRunRecord(ctx, deployment, pool, input, scheduledStart(ctx, input.scheduled_start_time)), ...rerun };
  const managed = isManagedType(pool.type);
  // Submitted at once by this server's dispatcher, which would claim it first: claimed by the insert.
  const owner = record.state.type === "PENDING" ? ctx.dispatch.ownerOfNewRun(pool.type) : null;
  const newRun = { ...record, owner_id: owner };

  const insert = async (tx: StoreTx): Promise<{ run: FlowRunRecord; created: boolean }> => {
    if (managed) {
      // The workspace as it is now: the request's copy may be a few seconds old, and limits change.
      const current = (await tx.getWorkspace(ws.id)) ?? ws;
      const usage = await tx.managedUsage(ws.id, monthStartUtc(ctx.now()).toISOString());
      assertComputeHoursLeft(current.tier, effectiveLimits(current.tier, current.limits_override), usage.compute_seconds);
    }
    return { run: await tx.insertFlowRun(newRun), created: true };
  };

  let result: { run: FlowRunRecord; created: boolean };
  if (input.idempotency_key) {
    const key = input.idempotency_key;
    result = await ctx.store.transaction(async (tx) => {
      await tx.lockIdempotencyKey(ws.id, key);
      const existing = await tx.findFlowRunByIdempotencyKey(ws.id, key);
      if (existing) {
        if (ctx.now().getTime() - Date.parse(existing.created_at) < IDEMPOTENCY_WINDOW_MS) {
          const conflict = idempotencyConflict(key, existing, { deployment_id: deployment.id, parameters: record.parameters, job_variables: record.job_variables });
          if (conflict) throw conflict;
          return { run: existing, created: false };
        }
        await tx.clearIdempotencyKey(existing.id);
      }
      return insert(tx);
    });
  } else if (managed) {
    result = await ctx.store.transaction(insert);
  } else {
    result = { run: await ctx.store.insertFlowRun(newRun), created: true };
  }
  if (result.created) {
    ctx.metrics.runsCreated.inc({ pool_type: pool.type });
    ctx.metrics.transitions.inc({ state: "SCHEDULED" });
    ctx.dispatch.runCreated(result.run, { pool, deployment, owned: owner !== null });
    // The workspace's stream (the UI's runs list) shows a run from its creation, not its first move.
    ctx.events.notify(result.run.id);
  }
  return { flow_run: toFlowRun(result.run), created: result.created };
}

const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 60 * 60 * 1000;

/** A run's requested start, when it is in the future; a time already past means "now". */
export function scheduledStart(ctx: ServiceContext, at: string | undefined): string | undefined {
  if (at === undefined) return undefined;
  const time = Date.parse(at);
  if (Number.isNaN(time)) throw validationError(`scheduled_start_time '${at}' is not a date-time; give it as ISO 8601, e.g. 2026-01-01T09:00:00Z`);
  const now = ctx.now().getTime();
  if (time - now > MAX_SCHEDULE_AHEAD_MS) throw validationError(`scheduled_start_time '${at}' is more than a year ahead; add a schedule to the deployment instead`);
  return time > now ? new Date(time).toISOString() : undefined;
}

/**
 * A new run of the deployment as it is stored: parameters and job variables checked, the job
 * configuration rendered and kept on the run, so what ran can be read back later. With
 * `expectedStart` (a schedule's time) it waits SCHEDULED until then, whatever its pool.
 */
export function newRunRecord(
  ctx: ServiceContext,
  deployment: DeploymentRecord,
  pool: WorkPoolRecord,
  input: FlowRunCreate,
  expectedStart?: string,
): NewFlowRun {
  const template = pool.base_job_template;
  const cached = { cacheKey: pool.template_key };
  const runVariables = validateJobVariables(template, input.job_variables ?? {}, `job variables for pool '${pool.name}' (${pool.type})`, cached);
  const variables = resolveJobVariablesWith(template, [deployment.job_variables, runVariables], cached);
  assertManagedImage(ctx, pool.type, variables);
  const jobConfiguration = renderJobConfiguration(template, variables);
  const parameters = { ...deployment.parameters, ...(input.parameters ?? {}) };
  if (deployment.parameter_schema) validateWithSchema(deployment.parameter_schema, parameters, "parameters", deployment.parameter_schema_key ?? undefined);
  return {
    id: newId(),
    workspace_id: deployment.workspace_id,
    name: input.name ?? `${deployment.name}-${randomBytes(3).toString("hex")}`,
    deployment_id: deployment.id,
    deployment_name: deployment.name,
    flow_name: deployment.flow_name,
    work_pool_id: pool.id,
    work_pool: pool.name,
    work_pool_type: pool.type,
    parameters,
    job_variables: runVariables,
    job_configuration: jobConfiguration,
    tags: [...new Set([...deployment.tags, ...(input.tags ?? [])])],
    idempotency_key: input.idempotency_key ?? null,
    ...resolveRetryPolicy(deployment, input),
    // Pinned by the deployment, or recorded by the engine when it fetches the branch (setFlowRunState).
    source_commit: deployment.source.commit ?? null,
    ...(expectedStart ? { state: stateChange("SCHEDULED"), expected_start_time: expectedStart } : initialStates(pool, deployment)),
    created_at: ctx.now().toISOString(),
  };
}

/** The state a push run is admitted to: the dispatcher submits it next. */
export function submittingState(poolType: string): StateChange {
  return stateChange("PENDING", { name: "Submitting", message: `submitting to ${poolType}` });
}

/**
 * A run in an unpaused push pool without a concurrency limit (nor one on its deployment) has nothing to wait for (admission admits
 * every such run), so it is created already admitted (Scheduled, then Submitting, written together):
 * the dispatcher submits it at once, and after a crash the restart finds it Submitting and resubmits
 * with the same idempotency key. Every other run starts SCHEDULED and is admitted by its dispatcher.
 */
function initialStates(pool: WorkPoolRecord, deployment: DeploymentRecord): { state: StateChange; prior_states?: StateChange[] } {
  if (pool.paused) {
    return { state: stateChange("SCHEDULED", { message: `work pool '${pool.name}' is paused; the run starts when it is resumed` }) };
  }
  if (isPushType(pool.type) && pool.concurrency_limit === null && deployment.concurrency_limit === null) {
    return { prior_states: [stateChange("SCHEDULED")], state: submittingState(pool.type) };
  }
  return { state: stateChange("SCHEDULED") };
}

/**
 * Cancels a run. One that never reached the infrastructure is CANCELLED at once; one that did goes
 * through CANCELLING while its infrastructure is stopped. Cancelling a finished run is an error that
 * says it already ended.
 */
export async function cancelFlowRun(ctx: ServiceContext, ws: WorkspaceRecord, id: string, reason?: string): Promise<FlowRun> {
  const run = await getRunOrThrow(ctx, ws, id);
  const message = reason ? `cancelled: ${reason}` : "cancelled by request";
  const { run: after, entry } = await transitionRun(ctx, run, (r) => {
    if (isTerminal(r.state.type)) {
      throw new FerryError("invalid_transition", `flow run ${id} already ended as ${r.state.type}; there is nothing to cancel`);
    }
    if (r.state.type === "CANCELLING") return null;
    // Never handed to the infrastructure: nothing to stop.
    return r.state.type === "SCHEDULED" ? stateChange("CANCELLED", { message }) : stateChange("CANCELLING", { message });
  });
  if (entry && after.state.type === "CANCELLING") ctx.dispatch.runCancelling(after);
  return toFlowRun(after);
}

export async function setFlowRunState(ctx: ServiceContext, ws: WorkspaceRecord, id: string, input: SetState): Promise<FlowRun> {
  const current = await getRunOrThrow(ctx, ws, id);
  const change = stateChange(input.type, { name: input.name, message: input.message ?? null });
  if (input.result !== undefined && input.type !== "COMPLETED") {
    throw validationError("a result is given with COMPLETED only; report an error's details in the message");
  }
  if (change.name === "AwaitingRetry") {
    throw validationError("AwaitingRetry is decided by the server from the run's retries; report FAILED or CRASHED and it retries when attempts are left");
  }
  if (input.source_commit !== undefined && input.type !== "RUNNING") throw validationError("source_commit is given with RUNNING only");
  const fields: FlowRunFields = {};
  if (input.result !== undefined) fields.result = input.result;
  // The branch's commit at the attempt's fetch, kept once: a re-run and later attempts fetch that again.
  if (input.source_commit && !current.source_commit) fields.source_commit = input.source_commit.toLowerCase();
  const { run } = await transitionRun(ctx, current, change, { workspaceId: ws.id, fields });
  // An attempt that ended into a retry frees its slot as an end does; the dispatchers admit it when due.
  if (isTerminal(run.state.type) || run.state.name === "AwaitingRetry") ctx.dispatch.runEnded(run);
  if (run.state.type === "CANCELLING") ctx.dispatch.runCancelling(run);
  return toFlowRun(run);
}

export function parseRunFilter(query: FlowRunListQuery): FlowRunFilter {
  const filter: FlowRunFilter = {};
  if (query.deployment_id) filter.deployment_id = query.deployment_id;
  if (query.work_pool) filter.work_pool = query.work_pool;
  if (query.id_prefix) filter.id_prefix = query.id_prefix.toLowerCase();
  if (query.name) filter.name = query.name;
  if (query.created_after) filter.created_after = new Date(query.created_after).toISOString();
  if (query.created_before) filter.created_before = new Date(query.created_before).toISOString();
  if (query.state) {
    const states = query.state.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
    const bad = states.filter((s) => !isStateType(s));
    if (bad.length) throw validationError(`state '${bad.join(",")}' is not a state type; use SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLING or CANCELLED`);
    filter.states = states as StateType[];
  }
  return filter;
}

export async function listFlowRuns(ctx: ServiceContext, ws: WorkspaceRecord, query: FlowRunListQuery): Promise<Page<FlowRun>> {
  const filter = parseRunFilter(query);
  return listPage({
    query,
    keys: ["created_at", "id"] as const,
    keyOf: (row: FlowRunRecord) => ({ created_at: row.created_at, id: row.id }),
    fetch: (after, n) => ctx.store.listFlowRuns(ws.id, filter, { limit: n, after }),
    toItem: toFlowRun,
    total: () => ctx.store.totalFlowRuns(ws.id, filter),
  });
}

export async function writeLogs(ctx: ServiceContext, ws: WorkspaceRecord, id: string, logs: LogInput[]): Promise<number> {
  const run = await getRunOrThrow(ctx, ws, id);
  const now = ctx.now().toISOString();
  const written = await ctx.store.insertLogs(ws.id, run.id, logs.map((l) => ({
    level: l.level ?? "info",
    message: l.message,
    timestamp: l.timestamp ? new Date(l.timestamp).toISOString() : now,
    source: l.source ?? "flow",
  })));
  ctx.events.notify(run.id);
  return written.length;
}

export async function listLogs(ctx: ServiceContext, ws: WorkspaceRecord, id: string, query: { limit?: number; cursor?: string }): Promise<Page<LogLine>> {
  const run = await getRunOrThrow(ctx, ws, id);
  const cursor = query.cursor ? decodeCursor(query.cursor, ["id"] as const).id : undefined;
  const page = await collectPage({
    limit: query.limit ?? 100,
    fetch: (row: LogLine | undefined, n) => ctx.store.listLogs(run.id, { limit: n, after: row ? row.id : cursor }),
    toItem: (row) => row,
  });
  return { items: page.items, next_cursor: page.more && page.last ? encodeCursor({ id: page.last.id }) : null };
}

/**
 * Re-runs a finished run as a new run of its deployment: the same parameters (as the original ran
 * them, defaults included), job variables, tags and retry policy, and its code at the same commit (the
 * one the original fetched, or its deployment's pinned one).
 */
export async function retryFlowRun(ctx: ServiceContext, ws: WorkspaceRecord, id: string): Promise<{ flow_run: FlowRun; created: boolean }> {
  const original = await getRunOrThrow(ctx, ws, id);
  if (!isTerminal(original.state.type)) {
    throw new FerryError("invalid_transition", `flow run ${id} is ${original.state.type}, not finished: wait for it to end (or cancel it) before re-running it`);
  }
  const input: FlowRunCreate = {
    parameters: original.parameters,
    job_variables: original.job_variables,
    tags: original.tags,
    retries: original.retries,
    retry_delay_seconds: original.retry_delay_seconds,
    retry_on_crash: original.retry_on_crash,
  };
  const deployment = await ctx.store.getDeployment(ws.id, original.deployment_id);
  if (!deployment) throw notFound("deployment", original.deployment_name, "it was deleted after the run; a re-run needs its deployment");
  return createFlowRun(ctx, ws, original.deployment_id, input, {
    // Exactly the original's: the deployment's defaults may have changed since.
    parameters: original.parameters,
    source_commit: original.source_commit ?? deployment.source.commit ?? null,
    rerun_of: original.id,
  });
}
