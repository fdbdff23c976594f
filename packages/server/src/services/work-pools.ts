import {
  assertCanCreateManagedPool,
  assertSlug,
  effectiveLimits,
  FerryError,
  isManagedType,
  newId,
  notFound,
  validateBaseJobTemplate,
  validateJobVariables,
  validationError,
  type BaseJobTemplate,
  type ListQuery,
  type Page,
  type StoreTx,
  type WorkPool,
  type WorkPoolCreate,
  type WorkPoolRecord,
  type WorkPoolUpdate,
  type WorkspaceRecord,
} from "@ferry/core";
import type { ServiceContext } from "./context.js";
import { listPage } from "./lists.js";

/** The pool as the API shows it, with how many of its runs hold a concurrency slot now. */
export function toWorkPool(record: WorkPoolRecord, activeRuns: number): WorkPool {
  const { workspace_id: _ws, template_key: _key, ...pool } = record;
  return { ...pool, active_runs: activeRuns };
}

/** A page of the workspace's pools, each with its runs in use: one grouped count for the page, not one per pool. */
export async function listWorkPools(ctx: ServiceContext, ws: WorkspaceRecord, query: ListQuery): Promise<Page<WorkPool>> {
  const active = await ctx.store.countActiveFlowRunsByPool(ws.id);
  return listPage({
    query,
    keys: ["name"] as const,
    keyOf: (row: WorkPoolRecord) => ({ name: row.name }),
    fetch: (after, n) => ctx.store.listWorkPools(ws.id, { limit: n, after: after?.name }),
    toItem: (row) => toWorkPool(row, active.get(row.id) ?? 0),
    total: () => ctx.store.totalWorkPools(ws.id),
  });
}

export async function getWorkPool(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<WorkPool> {
  const pool = await getPoolOrThrow(ctx.store, ws.id, name);
  return toWorkPool(pool, await ctx.store.countActiveFlowRunsInPool(pool.id));
}

export async function getPoolOrThrow(tx: StoreTx, workspaceId: string, name: string): Promise<WorkPoolRecord> {
  const pool = await tx.getWorkPool(workspaceId, name);
  if (!pool) throw notFound("work pool", name, "list pools with 'ferry work-pool ls'");
  return pool;
}

async function assertCredentialsFit(ctx: ServiceContext, tx: StoreTx, workspaceId: string, type: string, name: string | null | undefined): Promise<void> {
  if (!name) return;
  const expected = ctx.registry.get(type).credentialsType;
  const creds = await tx.getCredentials(workspaceId, name);
  if (!creds) throw notFound("credentials", name, "create them with 'ferry credentials create'");
  if (!expected) {
    throw validationError(`work pools of type ${type} take no credentials; remove 'credentials'`);
  }
  if (creds.type !== expected) {
    throw validationError(
      `work pools of type ${type} need ${expected} credentials, and '${name}' holds ${creds.type} credentials; name ${expected} credentials (make them with 'ferry credentials create NAME --type ${expected}')`,
    );
  }
}

export async function createWorkPool(ctx: ServiceContext, ws: WorkspaceRecord, input: WorkPoolCreate): Promise<WorkPool> {
  const name = assertSlug("work pool", input.name);
  const poolType = ctx.registry.get(input.type);
  const template: BaseJobTemplate = input.base_job_template
    ? validateBaseJobTemplate(input.base_job_template)
    : structuredClone(poolType.defaultBaseJobTemplate);
  return ctx.store.transaction(async (tx) => {
    if (await tx.getWorkPool(ws.id, name)) {
      throw new FerryError("conflict", `work pool '${name}' already exists; choose another name, or change it with 'ferry work-pool update ${name}'`);
    }
    if (isManagedType(poolType.type)) {
      // The workspace lock makes count-then-insert atomic against concurrent creations.
      const locked = await tx.lockWorkspace(ws.id);
      if (!locked) throw new FerryError("not_found", "workspace not found");
      const pools = await tx.listWorkPools(ws.id);
      const managed = pools.filter((p) => isManagedType(p.type)).length;
      assertCanCreateManagedPool(locked.tier, effectiveLimits(locked.tier, locked.limits_override), managed);
    }
    await assertCredentialsFit(ctx, tx, ws.id, poolType.type, input.credentials);
    const record = await tx.insertWorkPool({
      id: newId(),
      workspace_id: ws.id,
      name,
      type: poolType.type,
      description: input.description ?? null,
      base_job_template: template,
      concurrency_limit: input.concurrency_limit ?? null,
      paused: input.paused ?? false,
      credentials: input.credentials ?? null,
    });
    return toWorkPool(record, 0);
  });
}

export async function updateWorkPool(ctx: ServiceContext, ws: WorkspaceRecord, name: string, input: WorkPoolUpdate): Promise<WorkPool> {
  const result = await ctx.store.transaction(async (tx) => {
    const pool = await getPoolOrThrow(tx, ws.id, name);
    const patch: WorkPoolUpdate = {};
    if (input.base_job_template !== undefined) {
      const template = validateBaseJobTemplate(input.base_job_template);
      // Deployments already in the pool must still be valid under the new template.
      const deployments = await tx.listDeployments(ws.id, { work_pool: name });
      for (const d of deployments) {
        try {
          validateJobVariables(template, d.job_variables, `job variables of deployment ${d.flow_name}/${d.name}`);
        } catch (error) {
          throw validationError(
            `the new template does not accept the job variables of deployment ${d.flow_name}/${d.name}; change the deployment first (${(error as Error).message})`,
          );
        }
      }
      patch.base_job_template = template;
    }
    if (input.credentials !== undefined) {
      await assertCredentialsFit(ctx, tx, ws.id, pool.type, input.credentials);
      patch.credentials = input.credentials;
    }
    if (input.description !== undefined) patch.description = input.description;
    if (input.concurrency_limit !== undefined) patch.concurrency_limit = input.concurrency_limit;
    if (input.paused !== undefined) patch.paused = input.paused;
    const updated = await tx.updateWorkPool(ws.id, name, patch);
    if (!updated) throw notFound("work pool", name);
    return { before: pool, after: updated };
  });
  const freed = result.before.concurrency_limit !== null && (result.after.concurrency_limit === null || result.after.concurrency_limit > result.before.concurrency_limit);
  if (!result.after.paused && (result.before.paused || freed)) ctx.dispatch.poolMayAdmit(result.after);
  if (result.after.paused && !result.before.paused) ctx.dispatch.poolRetired?.(result.after);
  return toWorkPool(result.after, await ctx.store.countActiveFlowRunsInPool(result.after.id));
}

export async function deleteWorkPool(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<void> {
  const deleted = await ctx.store.transaction(async (tx) => {
    const pool = await getPoolOrThrow(tx, ws.id, name);
    const deployments = await tx.listDeployments(ws.id, { work_pool: name });
    if (deployments.length) {
      const names = deployments.slice(0, 5).map((d) => `${d.flow_name}/${d.name}`).join(", ");
      throw new FerryError(
        "conflict",
        `work pool '${name}' still has ${deployments.length} deployment(s) (${names}${deployments.length > 5 ? ", …" : ""}); delete or move them first`,
      );
    }
    await tx.deleteWorkPool(ws.id, pool.name);
    return pool;
  });
  ctx.dispatch.poolRetired?.(deleted);
}
