import { createHash, randomBytes } from "node:crypto";
import {
  FerryError,
  isFerryError,
  isUuid,
  matchTrustPolicy,
  newId,
  notFound,
  validateTrustPolicy,
  type AccessTokenRecord,
  type ListQuery,
  type OidcTrustPolicy,
  type OidcTrustPolicyCreate,
  type OidcTrustPolicyRecord,
  type Page,
  type Role,
  type WorkspaceRecord,
} from "@ferry/core";
import { decodeJwt } from "jose";
import type { ServiceContext } from "./context.js";
import { listPage } from "./lists.js";
import type { SignInThrottle } from "./sessions.js";

/** How long an access token exchanged for an OIDC token works. */
export const ACCESS_TOKEN_TTL_MS = 15 * 60 * 1000;
const ACCESS_TOKEN_PREFIX = "fo_";

/**
 * The one answer to every refused exchange: which check failed (issuer, audience, signature, expiry,
 * conditions, workspace) is for the server's log, so a caller cannot probe a workspace's policies.
 */
export const EXCHANGE_REFUSED =
  "the OIDC token was not accepted for this workspace: check that the workspace has a trust policy for the token's issuer, audience and claims (ferry oidc-trust ls), and that the token is fresh";

const hashToken = (value: string) => createHash("sha256").update(value).digest("hex");

export function looksLikeAccessToken(value: string): boolean {
  return value.startsWith(ACCESS_TOKEN_PREFIX) && value.length > 40 && value.length < 200;
}

export function toTrustPolicy(record: OidcTrustPolicyRecord): OidcTrustPolicy {
  const { workspace_id: _ws, ...policy } = record;
  return policy;
}

export async function createTrustPolicy(ctx: ServiceContext, ws: WorkspaceRecord, input: OidcTrustPolicyCreate): Promise<OidcTrustPolicy> {
  const valid = validateTrustPolicy(input, { allowHttpIssuers: ctx.oidc.allowHttpIssuers });
  const existing = await ctx.store.listOidcTrustPolicies(ws.id);
  if (existing.some((p) => p.name === valid.name)) {
    throw new FerryError("conflict", `trust policy '${valid.name}' already exists; delete it first (ferry oidc-trust delete ${valid.name}) or pick another name`);
  }
  const record = await ctx.store.insertOidcTrustPolicy({ id: newId(), workspace_id: ws.id, ...valid });
  return toTrustPolicy(record);
}

export function listTrustPolicies(ctx: ServiceContext, ws: WorkspaceRecord, query: ListQuery): Promise<Page<OidcTrustPolicy>> {
  return listPage({
    query,
    keys: ["name"] as const,
    keyOf: (row: OidcTrustPolicyRecord) => ({ name: row.name }),
    fetch: (after, n) => ctx.store.listOidcTrustPolicies(ws.id, { limit: n, after: after?.name }),
    toItem: toTrustPolicy,
    total: () => ctx.store.totalOidcTrustPolicies(ws.id),
  });
}

export async function deleteTrustPolicy(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<void> {
  if (!(await ctx.store.deleteOidcTrustPolicy(ws.id, name))) throw notFound("trust policy", name, "ferry oidc-trust ls lists them");
}

export interface ExchangeLog {
  warn(obj: object, message: string): void;
  info(obj: object, message: string): void;
}

/**
 * Exchanges an ID token for an access token of the workspace the caller names, under the policy of
 * that workspace its verified claims match. The workspace is only ever one whose own policy matched,
 * so a token cannot choose its way into another.
 */
export async function exchangeOidcToken(
  ctx: ServiceContext,
  input: { token: string; workspace: string },
  log: ExchangeLog,
  from: { throttle: SignInThrottle; address: string },
): Promise<{ access_token: string; token_type: "Bearer"; expires_at: string; role: Role; workspace_id: string }> {
  // Refused exchanges are counted per address like failed sign-ins: each may cost a key fetch from the issuer.
  from.throttle.check(from.address, ctx.now().getTime());
  const refuse = (reason: string, error?: unknown): FerryError => {
    from.throttle.failed(from.address, ctx.now().getTime());
    log.warn({ workspace: input.workspace.slice(0, 100), reason, ...(error ? { err: error } : {}) }, "OIDC token exchange refused");
    return new FerryError("unauthenticated", EXCHANGE_REFUSED);
  };
  const workspace = isUuid(input.workspace) ? await ctx.store.getWorkspace(input.workspace) : null;
  if (!workspace) throw refuse("no such workspace");
  let issuer: unknown;
  try {
    issuer = decodeJwt(input.token).iss;
  } catch (error) {
    throw refuse("not a JWT", error);
  }
  // Unverified here: it only picks which policies (and so which issuer's keys) to verify against.
  const policies = (await ctx.store.listOidcTrustPolicies(workspace.id)).filter((p) => p.issuer === issuer);
  if (typeof issuer !== "string" || !policies.length) throw refuse(`no trust policy for issuer ${String(issuer).slice(0, 200)}`);
  let claims: Record<string, unknown>;
  try {
    claims = await ctx.oidc.verify(input.token, issuer, [...new Set(policies.map((p) => p.audience))]);
  } catch (error) {
    if (isFerryError(error)) throw error;
    throw refuse(`verification failed: ${(error as Error).message}`);
  }
  const match = matchTrustPolicy(policies, claims);
  if ("reason" in match) throw refuse(match.reason);
  const token = ACCESS_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const now = ctx.now().getTime();
  const record: AccessTokenRecord = {
    hash: hashToken(token),
    workspace_id: workspace.id,
    policy_id: match.policy.id,
    role: match.policy.role,
    issuer,
    subject: String(claims.sub).slice(0, 500),
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + ACCESS_TOKEN_TTL_MS).toISOString(),
  };
  await ctx.store.insertAccessToken(record);
  log.info({ workspace: workspace.id, policy: match.policy.name, role: record.role, subject: record.subject }, "OIDC token exchanged for an access token");
  return { access_token: token, token_type: "Bearer", expires_at: record.expires_at, role: record.role, workspace_id: workspace.id };
}

/** The access token's record and workspace, or null when it is unknown, expired or its policy was deleted. */
export async function findAccessToken(ctx: ServiceContext, token: string): Promise<{ token: AccessTokenRecord; workspace: WorkspaceRecord } | null> {
  if (!looksLikeAccessToken(token)) return null;
  return ctx.store.findAccessToken(hashToken(token), ctx.now().toISOString());
}
