import { isUuid, scheduledRunKeyPrefix, type AdmissionDeployment, type PageRequest } from "@ferry/core";
import type { SqlExecutor } from "./driver.js";

/**
 * What the scheduler and admission read and write of deployments' schedules and concurrency (the row
 * lock and the Late scan are in sql-store.ts, beside the columns they read). Times are given by the
 * caller's clock, which is the one the scheduler decides by.
 */

export async function listScheduledDeployments(db: SqlExecutor, page: PageRequest<string>): Promise<{ id: string; workspace_id: string }[]> {
  const after = page.after && isUuid(page.after) ? page.after : null;
  // The condition is the partial index's, so the scan reads only scheduled deployments.
  const { rows } = await db.query<{ id: string; workspace_id: string }>(
    `SELECT id, workspace_id FROM deployments
     WHERE schedules <> '[]'::jsonb AND NOT paused AND ($1::uuid IS NULL OR id > $1::uuid)
     ORDER BY id LIMIT $2`,
    [after, Math.max(1, Math.min(page.limit, 10_000))],
  );
  return rows;
}

export async function setSchedulesCheckedAt(db: SqlExecutor, id: string, at: string | null): Promise<void> {
  if (!isUuid(id)) return;
  await db.query("UPDATE deployments SET schedules_checked_at = $2::timestamptz WHERE id = $1", [id, at]);
}

export async function deleteScheduledFlowRuns(db: SqlExecutor, deploymentId: string, after: string): Promise<string[]> {
  if (!isUuid(deploymentId)) return [];
  // Their history, logs and tokens go with them (ON DELETE CASCADE). Only runs no dispatcher took up:
  // a run admitted meanwhile is PENDING and stays. Only the scheduler's (by their keys): a run someone
  // asked for a later time (`deployment run --start-at`) is theirs and stays too.
  const { rows } = await db.query<{ id: string }>(
    `DELETE FROM flow_runs WHERE deployment_id = $1 AND state_type = 'SCHEDULED' AND expected_start_time > $2::timestamptz
       AND starts_with(idempotency_key, $3) RETURNING id`,
    [deploymentId, after, scheduledRunKeyPrefix(deploymentId)],
  );
  return rows.map((r) => r.id);
}

export async function deploymentConcurrency(db: SqlExecutor, workspaceId: string, ids: string[]): Promise<Map<string, AdmissionDeployment>> {
  const valid = [...new Set(ids.filter(isUuid))];
  if (!isUuid(workspaceId) || !valid.length) return new Map();
  const { rows } = await db.query<{ id: string; name: string; flow_name: string; concurrency_limit: number; collision_strategy: AdmissionDeployment["collision_strategy"]; active: number }>(
    `SELECT d.id, d.name, d.flow_name, d.concurrency_limit, d.collision_strategy,
            (SELECT count(*)::int FROM flow_runs r WHERE r.deployment_id = d.id AND r.state_type IN ('PENDING', 'RUNNING', 'CANCELLING')) AS active
     FROM deployments d WHERE d.workspace_id = $1 AND d.id = ANY($2::uuid[]) AND d.concurrency_limit IS NOT NULL`,
    [workspaceId, valid],
  );
  return new Map(
    rows.map((r) => [r.id, { name: `${r.flow_name}/${r.name}`, concurrency_limit: r.concurrency_limit, collision_strategy: r.collision_strategy, active: r.active }]),
  );
}
