import { isUuid } from "@ferry/core";
import type { SqlExecutor } from "./driver.js";

/**
 * Leases of server processes, and which server owns (drives) each run. Times come from the database's
 * clock, so servers with skewed clocks agree on whose lease has expired.
 */

/** SQL true when the run `r` (an alias of flow_runs) may be claimed by the server in parameter `serverParam`. */
export function claimableBy(alias: string, serverParam: string): string {
  return `(${alias}.owner_id IS NULL OR ${alias}.owner_id = ${serverParam}::uuid OR NOT EXISTS (
     SELECT 1 FROM ferry_servers s WHERE s.id = ${alias}.owner_id AND s.lease_expires_at > now()))`;
}

export async function renewServerLease(db: SqlExecutor, id: string, leaseMs: number): Promise<void> {
  await db.query(
    `INSERT INTO ferry_servers (id, lease_expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
     ON CONFLICT (id) DO UPDATE SET lease_expires_at = EXCLUDED.lease_expires_at`,
    [id, Math.max(0, Math.round(leaseMs))],
  );
}

export async function claimFlowRun(db: SqlExecutor, runId: string, serverId: string): Promise<{ previous_owner: string | null } | null> {
  if (!isUuid(runId) || !isUuid(serverId)) return null;
  // The row is locked first, so two servers claiming at once are served one after the other and the
  // second sees the first's claim (and its lease) when its condition is evaluated.
  const { rows } = await db.query<{ previous_owner: string | null }>(
    `WITH before AS (SELECT id, owner_id FROM flow_runs WHERE id = $1 FOR UPDATE)
     UPDATE flow_runs r SET owner_id = $2::uuid FROM before
     WHERE r.id = before.id AND ${claimableBy("r", "$2")}
     RETURNING before.owner_id AS previous_owner`,
    [runId, serverId],
  );
  return rows[0] ?? null;
}
