import {
  assertSchedulableParameters,
  FerryError,
  isUuid,
  newId,
  nextOccurrences,
  notFound,
  validateSchedule,
  type Deployment,
  type DeploymentRecord,
  type DeploymentSchedules,
  type ScheduleCreate,
  type StoreTx,
  type WorkspaceRecord,
} from "@ferry/core";
import type { ServiceContext } from "./context.js";
import { toDeployment } from "./deployments.js";

/** How many next times a schedule's listing shows. */
const NEXT_RUNS_SHOWN = 5;

/**
 * Deletes the deployment's runs created ahead that have not started, and restarts its catch-up window
 * at now: what a pause, a removed schedule or a changed deployment needs. The scheduler creates the
 * runs again from the deployment as it is now; the span it was paused is not caught up.
 */
export async function resetScheduledRuns(ctx: ServiceContext, tx: StoreTx, deployment: DeploymentRecord): Promise<string[]> {
  const now = ctx.now().toISOString();
  const deleted = await tx.deleteScheduledFlowRuns(deployment.id, now);
  await tx.setSchedulesCheckedAt(deployment.id, now);
  return deleted;
}

export async function listDeploymentSchedules(ctx: ServiceContext, ws: WorkspaceRecord, id: string): Promise<DeploymentSchedules> {
  const deployment = await getDeployment(ctx, ws, id);
  const now = ctx.now();
  return {
    items: deployment.schedules.map((schedule) => ({
      ...schedule,
      next_runs:
        schedule.active && !deployment.paused ? nextOccurrences(schedule, now, { count: NEXT_RUNS_SHOWN }).map((d) => d.toISOString()) : [],
    })),
  };
}

export async function addDeploymentSchedule(ctx: ServiceContext, ws: WorkspaceRecord, id: string, input: ScheduleCreate): Promise<Deployment> {
  const { active, ...spec } = input;
  const schedule = { id: newId(), active: active ?? true, ...validateSchedule(spec) };
  return changeSchedules(ctx, ws, id, (schedules) => ({ schedules: [...schedules, schedule], reset: false, starts: schedule.active }));
}

export async function updateDeploymentSchedule(
  ctx: ServiceContext,
  ws: WorkspaceRecord,
  id: string,
  scheduleId: string,
  input: { active: boolean },
): Promise<Deployment> {
  return changeSchedules(ctx, ws, id, (schedules) => {
    const target = findSchedule(schedules, scheduleId, id);
    // Pausing deletes the runs made ahead; resuming starts counting missed times from now.
    return { schedules: schedules.map((s) => (s === target ? { ...s, active: input.active } : s)), reset: target.active !== input.active, starts: input.active && !target.active };
  });
}

export async function deleteDeploymentSchedule(ctx: ServiceContext, ws: WorkspaceRecord, id: string, scheduleId: string): Promise<Deployment> {
  return changeSchedules(ctx, ws, id, (schedules) => {
    const target = findSchedule(schedules, scheduleId, id);
    return { schedules: schedules.filter((s) => s !== target), reset: true };
  });
}

function findSchedule(schedules: DeploymentRecord["schedules"], scheduleId: string, deploymentId: string) {
  const target = schedules.find((s) => s.id === scheduleId || (scheduleId.length >= 4 && s.id.startsWith(scheduleId)));
  if (!target) throw notFound("schedule", scheduleId, `list the deployment's schedules with 'ferry deployment schedule ls ${deploymentId}'`);
  return target;
}

async function getDeployment(ctx: ServiceContext, ws: WorkspaceRecord, id: string): Promise<DeploymentRecord> {
  const d = isUuid(id) ? await ctx.store.getDeployment(ws.id, id) : null;
  if (!d) throw notFound("deployment", id, "list deployments with 'ferry deployment ls'");
  return d;
}

/** Changes a deployment's schedules under its row lock (a scheduler pass waits, then sees the change). */
async function changeSchedules(
  ctx: ServiceContext,
  ws: WorkspaceRecord,
  id: string,
  /** `starts`: the change adds or resumes a schedule, which then makes runs. */
  change: (schedules: DeploymentRecord["schedules"]) => { schedules: DeploymentRecord["schedules"]; reset: boolean; starts?: boolean },
): Promise<Deployment> {
  if (!isUuid(id)) throw notFound("deployment", id, "list deployments with 'ferry deployment ls'");
  const updated = await ctx.store.transaction(async (tx) => {
    const found = await tx.lockDeploymentForScheduling(ws.id, id);
    if (!found) throw notFound("deployment", id, "list deployments with 'ferry deployment ls'");
    const { deployment } = found;
    const next = change(deployment.schedules);
    if (next.starts) assertSchedulableParameters(`${deployment.flow_name}/${deployment.name}`, deployment.parameter_schema, deployment.parameters);
    const { id: _id, workspace_id: _ws, created_at: _c, updated_at: _u, schedules_checked_at: _s, parameter_schema_key: _k, ...rest } = deployment;
    const written = await tx.updateDeployment(ws.id, id, { ...rest, schedules: next.schedules });
    if (!written) throw new FerryError("conflict", `deployment ${id} changed while its schedules were being updated; try again`);
    if (next.reset) await resetScheduledRuns(ctx, tx, written);
    return written;
  });
  ctx.dispatch.schedulesChanged?.();
  return toDeployment(updated);
}
