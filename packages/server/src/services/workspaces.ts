import {
  effectiveLimits,
  FerryError,
  isUuid,
  monthStartUtc,
  newId,
  notFound,
  parseLimitOverrides,
  type ApiKey,
  type ApiKeyRecord,
  type CreatedApiKey,
  type ListQuery,
  type Page,
  type Quota,
  type QuotaUsage,
  type TierLimits,
  type TierName,
  type Workspace,
  type WorkspaceRecord,
} from "@ferry/core";
import { generateApiKey } from "../api-keys.js";
import type { ServiceContext } from "./context.js";
import { listPage } from "./lists.js";

/** A page of every workspace, oldest first (the operator's list). */
export function listWorkspaces(ctx: ServiceContext, query: ListQuery): Promise<Page<Workspace>> {
  return listPage({
    query,
    keys: ["id"] as const,
    keyOf: (row: WorkspaceRecord) => ({ id: row.id }),
    fetch: (after, n) => ctx.store.listWorkspaces({ limit: n, after: after?.id }),
    toItem: toWorkspace,
    total: () => ctx.store.totalWorkspaces(),
  });
}

/** A page of the workspace's API keys, oldest first (never the keys themselves). */
export function listApiKeys(ctx: ServiceContext, ws: WorkspaceRecord, query: ListQuery): Promise<Page<ApiKey>> {
  return listPage({
    query,
    keys: ["id"] as const,
    keyOf: (row: ApiKeyRecord) => ({ id: row.id }),
    fetch: (after, n) => ctx.store.listApiKeys(ws.id, { limit: n, after: after?.id }),
    toItem: toApiKey,
    total: () => ctx.store.totalApiKeys(ws.id),
  });
}

export function toWorkspace(record: WorkspaceRecord): Workspace {
  return {
    id: record.id,
    name: record.name,
    tier: record.tier,
    limits: effectiveLimits(record.tier, record.limits_override),
    limits_override: record.limits_override,
    created_at: record.created_at,
  };
}

export function toApiKey(record: ApiKeyRecord): ApiKey {
  return { id: record.id, name: record.name, prefix: record.prefix, created_at: record.created_at, last_used_at: record.last_used_at };
}

export async function createWorkspace(
  ctx: ServiceContext,
  input: { name: string; tier?: TierName; limits?: Partial<TierLimits> | null },
): Promise<{ workspace: Workspace; api_key: CreatedApiKey }> {
  const limits = parseLimitOverrides(input.limits);
  if (ctx.singleWorkspace.reason) throw new FerryError("conflict", ctx.singleWorkspace.reason);
  return ctx.store.transaction(async (tx) => {
    const ws = await tx.createWorkspace({ id: newId(), name: input.name, tier: input.tier ?? "free", limits_override: limits });
    const api_key = await createApiKeyIn(tx, ws.id, "default");
    return { workspace: toWorkspace(ws), api_key };
  });
}

export async function updateWorkspace(
  ctx: ServiceContext,
  id: string,
  input: { tier?: TierName; limits?: Partial<TierLimits> | null },
): Promise<Workspace> {
  const patch: { tier?: TierName; limits_override?: Partial<TierLimits> } = {};
  if (input.tier) patch.tier = input.tier;
  if (input.limits !== undefined) patch.limits_override = parseLimitOverrides(input.limits);
  const ws = await ctx.store.updateWorkspace(id, patch);
  if (!ws) throw new FerryError("not_found", `workspace '${id}' was not found; list workspaces with 'ferry admin workspace ls'`);
  return toWorkspace(ws);
}

export async function createApiKeyIn(
  tx: Pick<ServiceContext["store"], "insertApiKey">,
  workspaceId: string,
  name: string,
): Promise<CreatedApiKey> {
  const { key, prefix, hash } = generateApiKey();
  const record = await tx.insertApiKey({ id: newId(), workspace_id: workspaceId, name, prefix, hash });
  return { ...toApiKey(record), key, workspace_id: workspaceId };
}

/**
 * Deletes one of the workspace's API keys, never its last: without a key nobody can reach the workspace
 * again except the operator on the server's host.
 */
export async function deleteApiKey(ctx: ServiceContext, workspaceId: string, id: string): Promise<void> {
  const missing = () => notFound("API key", id, "list keys with 'ferry api-key ls'");
  if (!isUuid(id)) throw missing();
  await ctx.store.transaction(async (tx) => {
    // Two deletes at once must not each see the other's key still there: the workspace's lock orders them.
    await tx.lockWorkspace(workspaceId);
    const keys = await tx.listApiKeys(workspaceId);
    if (!keys.some((k) => k.id === id)) throw missing();
    if (keys.length === 1) {
      throw new FerryError(
        "conflict",
        `API key '${id}' is the workspace's last key: create another first ('ferry api-key create NAME'), use it, then delete this one`,
      );
    }
    await tx.deleteApiKey(workspaceId, id);
  });
}

export async function quota(ctx: ServiceContext, ws: WorkspaceRecord): Promise<Quota> {
  const periodStart = monthStartUtc(ctx.now()).toISOString();
  const usage = await ctx.store.managedUsage(ws.id, periodStart);
  return {
    tier: ws.tier,
    limits: effectiveLimits(ws.tier, ws.limits_override),
    period_start: periodStart,
    usage,
  };
}

/**
 * Managed compute hours per UTC day over the last `days` days (today included), oldest first, days
 * without compute as zero. A run's seconds count on the day it started (the day it was created if it
 * never started), the same day the month's quota counts them on. `compute_seconds` is written when a
 * managed run's container exits (its own start to its end), so a run still going counts once it ends.
 */
export async function quotaUsage(ctx: ServiceContext, ws: WorkspaceRecord, days: number): Promise<QuotaUsage> {
  const today = new Date(ctx.now().toISOString().slice(0, 10) + "T00:00:00Z");
  const first = new Date(today.getTime() - (days - 1) * 86_400_000);
  const byDay = new Map((await ctx.store.managedComputeByDay(ws.id, first.toISOString().slice(0, 10))).map((d) => [d.date, d.compute_seconds]));
  const items: QuotaUsage["items"] = [];
  for (let i = 0; i < days; i++) {
    const date = new Date(first.getTime() + i * 86_400_000).toISOString().slice(0, 10);
    items.push({ date, compute_hours: (byDay.get(date) ?? 0) / 3600 });
  }
  return { items };
}
