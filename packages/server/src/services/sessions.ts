import { createHash, randomBytes } from "node:crypto";
import { FerryError, type Session, type SessionRecord, type WorkspaceRecord } from "@ferry/core";
import { hashApiKey } from "../api-keys.js";
import type { ServiceContext } from "./context.js";
import { toWorkspace } from "./workspaces.js";

/** How long a browser stays signed in. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;
/** How long a login link (`ferry ui`) may wait to be opened. */
export const LOGIN_LINK_TTL_MS = 60 * 1000;

const SESSION_PREFIX = "fs_";
const LINK_PREFIX = "fl_";

/** The same message whether the key never existed or was revoked: a sign-in says nothing more. */
const BAD_KEY = "the API key is not valid; check the key in your profile (ferry profile inspect) or create a new one";

const token = (prefix: string) => prefix + randomBytes(32).toString("base64url");
const hashToken = (value: string) => createHash("sha256").update(value).digest("hex");

/** A signed-in browser, as the authenticator attaches it to a request. */
export interface ActiveSession {
  record: SessionRecord;
  workspace: WorkspaceRecord;
}

export function toSession(session: ActiveSession): Session {
  return { workspace: toWorkspace(session.workspace), csrf_token: session.record.csrf_token, expires_at: session.record.expires_at };
}

/** Failed sign-ins an address may make in a minute before its sign-ins are refused for the rest of it. */
export const SIGN_IN_FAILURES_PER_MINUTE = 20;

/**
 * Counts failed sign-ins per client address (in this process). Keys are far too long to guess, so
 * this keeps a script from hammering the store with guesses more than it protects the keys. One per kind
 * of sign-in (API key, OIDC token exchange), each with its own refusal.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly refusal = "too many failed sign-ins from this address; wait a minute, then sign in with a valid API key") {}

  check(address: string, now: number): void {
    const entry = this.failures.get(address);
    if (entry && now - entry.since < 60_000 && entry.count >= SIGN_IN_FAILURES_PER_MINUTE) {
      throw new FerryError("unauthenticated", this.refusal);
    }
  }

  failed(address: string, now: number): void {
    const entry = this.failures.get(address);
    if (!entry || now - entry.since >= 60_000) {
      // Bounded: forgetting counts only lets an address try again sooner.
      if (this.failures.size >= 10_000) this.failures.clear();
      this.failures.set(address, { count: 1, since: now });
    } else {
      entry.count++;
    }
  }
}

/** Signs in with an API key: a new session bound to the key's workspace and to the key itself. */
export async function createSession(ctx: ServiceContext, apiKey: string, from: { throttle: SignInThrottle; address: string }): Promise<{ cookie: string; session: ActiveSession }> {
  const now = ctx.now().getTime();
  from.throttle.check(from.address, now);
  const found = await ctx.store.findApiKeyByHash(hashApiKey(apiKey));
  if (!found) {
    from.throttle.failed(from.address, now);
    throw new FerryError("unauthenticated", BAD_KEY);
  }
  return openSession(ctx, found.workspace, found.key.id);
}

async function openSession(ctx: ServiceContext, workspace: WorkspaceRecord, apiKeyId: string): Promise<{ cookie: string; session: ActiveSession }> {
  const cookie = token(SESSION_PREFIX);
  const now = ctx.now().getTime();
  const record: SessionRecord = {
    hash: hashToken(cookie),
    workspace_id: workspace.id,
    api_key_id: apiKeyId,
    csrf_token: randomBytes(32).toString("base64url"),
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + SESSION_TTL_MS).toISOString(),
  };
  await ctx.store.insertSession(record);
  return { cookie, session: { record, workspace } };
}

/** The session a cookie's value names, or null when it is unknown, ended or expired. */
export async function findSession(ctx: ServiceContext, cookie: string): Promise<ActiveSession | null> {
  if (!cookie.startsWith(SESSION_PREFIX) || cookie.length > 200) return null;
  const found = await ctx.store.findSession(hashToken(cookie), ctx.now().toISOString());
  return found ? { record: found.session, workspace: found.workspace } : null;
}

export async function endSession(ctx: ServiceContext, session: ActiveSession): Promise<void> {
  await ctx.store.deleteSession(session.record.hash);
}

/**
 * Where a login link may send the browser: a path on this server only. An absolute URL, `//host`
 * (protocol-relative) or a backslash (which browsers read as a slash) would make the link an open redirect.
 */
export function localPath(path: string | undefined): string {
  if (path === undefined || path === "") return "/";
  const control = [...path].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  const ok = path.startsWith("/") && !path.startsWith("//") && !path.includes("\\") && !control;
  if (!ok) throw new FerryError("validation_failed", `path '${path.slice(0, 100)}' is not a local path: give one that starts with a single '/', such as /runs/<id>`);
  return path;
}

/** A single-use link that signs a browser in as the API key `apiKeyId` of `workspace`. */
export async function createLoginLink(ctx: ServiceContext, workspace: WorkspaceRecord, apiKeyId: string, path: string | undefined): Promise<{ token: string; expires_at: string }> {
  const value = token(LINK_PREFIX);
  const expires_at = new Date(ctx.now().getTime() + LOGIN_LINK_TTL_MS).toISOString();
  await ctx.store.insertLoginLink({ hash: hashToken(value), workspace_id: workspace.id, api_key_id: apiKeyId, path: localPath(path), expires_at });
  return { token: value, expires_at };
}

/** Redeems a login link once: a session and where to go; null when it is unknown, used or expired. */
export async function redeemLoginLink(ctx: ServiceContext, value: string): Promise<{ cookie: string; session: ActiveSession; path: string } | null> {
  if (!value.startsWith(LINK_PREFIX) || value.length > 200) return null;
  const link = await ctx.store.claimLoginLink(hashToken(value), ctx.now().toISOString());
  if (!link) return null;
  const workspace = await ctx.store.getWorkspace(link.workspace_id);
  if (!workspace) return null;
  const opened = await openSession(ctx, workspace, link.api_key_id);
  return { ...opened, path: link.path };
}

/** Forgets sessions, links and OIDC access tokens past their expiry (they are refused already; this keeps the tables small). */
export async function sweepSessions(ctx: ServiceContext): Promise<number> {
  const now = ctx.now().toISOString();
  const removed = await ctx.store.deleteExpiredSessions(now);
  const accessTokens = await ctx.store.deleteExpiredAccessTokens(now);
  return removed.sessions + removed.login_links + accessTokens;
}
