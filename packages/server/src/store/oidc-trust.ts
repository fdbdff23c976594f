import {
  isUuid,
  LIMITS,
  type AccessTokenRecord,
  type ListTotal,
  type OidcTrustPolicyRecord,
  type PageRequest,
  type Role,
  type TierLimits,
  type TierName,
  type WorkspaceRecord,
} from "@ferry/core";
import type { SqlExecutor } from "./driver.js";
import { listTotal } from "./list-queries.js";

/**
 * The OIDC aggregate of the store: a workspace's trust policies and the access tokens exchanged under
 * them. Functions over an executor, which `SqlStoreTx` delegates to (the store file stays one per aggregate).
 */

interface PolicyRow {
  id: string;
  workspace_id: string;
  name: string;
  issuer: string;
  audience: string;
  conditions: Record<string, string>;
  role: Role;
  created_at: Date;
}
const POLICY_COLUMNS = "id, workspace_id, name, issuer, audience, conditions, role, created_at";
const toPolicy = (r: PolicyRow): OidcTrustPolicyRecord => ({ ...r, created_at: r.created_at.toISOString() });
const NONE: ListTotal = { total: 0, total_is_estimate: false };

export async function insertOidcTrustPolicy(db: SqlExecutor, input: Omit<OidcTrustPolicyRecord, "created_at">): Promise<OidcTrustPolicyRecord> {
  const { rows } = await db.query<PolicyRow>(
    `INSERT INTO oidc_trust_policies (id, workspace_id, name, issuer, audience, conditions, role)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING ${POLICY_COLUMNS}`,
    [input.id, input.workspace_id, input.name, input.issuer, input.audience, JSON.stringify(input.conditions), input.role],
  );
  return toPolicy(rows[0]!);
}

export async function listOidcTrustPolicies(db: SqlExecutor, workspaceId: string, page?: PageRequest<string>): Promise<OidcTrustPolicyRecord[]> {
  if (!isUuid(workspaceId)) return [];
  const values: unknown[] = [workspaceId];
  let sql = `SELECT ${POLICY_COLUMNS} FROM oidc_trust_policies WHERE workspace_id = $1`;
  if (page?.after !== undefined) {
    values.push(page.after);
    sql += ` AND name > $${values.length}`;
  }
  sql += " ORDER BY name";
  if (page) {
    values.push(Math.max(1, Math.min(page.limit, LIMITS.pageItems + 1)));
    sql += ` LIMIT $${values.length}`;
  }
  const { rows } = await db.query<PolicyRow>(sql, values);
  return rows.map(toPolicy);
}

export function totalOidcTrustPolicies(db: SqlExecutor, workspaceId: string): Promise<ListTotal> {
  if (!isUuid(workspaceId)) return Promise.resolve(NONE);
  return listTotal(db, { from: "oidc_trust_policies", where: ["workspace_id = $1"], values: [workspaceId] });
}

export async function deleteOidcTrustPolicy(db: SqlExecutor, workspaceId: string, name: string): Promise<boolean> {
  if (!isUuid(workspaceId)) return false;
  const { rowCount } = await db.query("DELETE FROM oidc_trust_policies WHERE workspace_id = $1 AND name = $2", [workspaceId, name]);
  return rowCount > 0;
}

export async function insertAccessToken(db: SqlExecutor, input: AccessTokenRecord): Promise<void> {
  await db.query(
    `INSERT INTO access_tokens (hash, workspace_id, policy_id, role, issuer, subject, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz)`,
    [input.hash, input.workspace_id, input.policy_id, input.role, input.issuer, input.subject, timestamp(input.created_at), timestamp(input.expires_at)],
  );
}

export async function findAccessToken(db: SqlExecutor, hash: string, now: string): Promise<{ token: AccessTokenRecord; workspace: WorkspaceRecord } | null> {
  const { rows } = await db.query<{
    hash: string; workspace_id: string; policy_id: string; role: Role; issuer: string; subject: string; created_at: Date; expires_at: Date;
    ws_name: string; ws_tier: TierName; ws_limits_override: Partial<TierLimits>; ws_created_at: Date;
  }>(
    `SELECT t.hash, t.workspace_id, t.policy_id, t.role, t.issuer, t.subject, t.created_at, t.expires_at,
            w.name AS ws_name, w.tier AS ws_tier, w.limits_override AS ws_limits_override, w.created_at AS ws_created_at
     FROM access_tokens t JOIN workspaces w ON w.id = t.workspace_id
     WHERE t.hash = $1 AND t.expires_at > $2::timestamptz`,
    [hash, timestamp(now)],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    token: {
      hash: r.hash, workspace_id: r.workspace_id, policy_id: r.policy_id, role: r.role, issuer: r.issuer, subject: r.subject,
      created_at: r.created_at.toISOString(), expires_at: r.expires_at.toISOString(),
    },
    workspace: { id: r.workspace_id, name: r.ws_name, tier: r.ws_tier, limits_override: r.ws_limits_override, created_at: r.ws_created_at.toISOString() },
  };
}

export async function deleteExpiredAccessTokens(db: SqlExecutor, now: string): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM access_tokens WHERE expires_at <= $1::timestamptz", [timestamp(now)]);
  return rowCount;
}

function timestamp(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`'${value}' is not an ISO-8601 timestamp`);
  return date.toISOString();
}
