import {
  assertGitCredentialsFor,
  checkJsonSize,
  FerryError,
  LIMITS,
  LOGIN_LINK_PATH,
  notFound,
  secretFields,
  parseSourceUrl,
  validationError,
  type RouteInput,
  type RouteName,
  type RouteOutput,
  type WorkspaceRecord,
  isUuid,
} from "@ferry/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ServiceContext } from "../services/context.js";
import { createLoginLink, createSession, endSession, toSession, type SignInThrottle } from "../services/sessions.js";
import { assertOwnOrigin, clearSessionCookie, setSessionCookie, type PublicAddress } from "./sessions.js";
import { createCredentials, deleteCredentials, listCredentials, resolveCredentials, toCredentials } from "../services/credentials.js";
import { applyDeployment, getDeploymentOrThrow, listDeployments, toDeployment } from "../services/deployments.js";
import {
  cancelFlowRun,
  retryFlowRun,
  createFlowRun,
  getRunOrThrow,
  listFlowRuns,
  listLogs,
  setFlowRunState,
  toFlowRun,
  writeLogs,
} from "../services/flow-runs.js";
import { exchangeBootstrapToken } from "../services/run-credentials.js";
import {
  deleteSecret,
  deleteVariable,
  getVariable,
  listSecrets,
  listVariables,
  putSecret,
  putVariable,
  resolveRunEnv,
} from "../services/variables.js";
import { addDeploymentSchedule, deleteDeploymentSchedule, listDeploymentSchedules, updateDeploymentSchedule } from "../services/schedules.js";
import { createTrustPolicy, deleteTrustPolicy, exchangeOidcToken, listTrustPolicies } from "../services/oidc.js";
import { createWorkPool, deleteWorkPool, getWorkPool, listWorkPools, updateWorkPool } from "../services/work-pools.js";
import {
  createApiKeyIn,
  createWorkspace,
  deleteApiKey,
  listApiKeys,
  listWorkspaces,
  quota,
  quotaUsage,
  toWorkspace,
  updateWorkspace,
} from "../services/workspaces.js";

/** The HTTP exchange, for the few routes that are about it (sessions: cookies, who is calling). */
export interface HttpCall {
  request: FastifyRequest;
  reply: FastifyReply;
  address: PublicAddress;
  signIns: SignInThrottle;
  oidcExchanges: SignInThrottle;
  /** The server's version, for `GET /api/me`. */
  version: string;
}

type Handler<K extends RouteName> = (ctx: ServiceContext, ws: WorkspaceRecord, input: RouteInput<K>, http: HttpCall) => Promise<RouteOutput<K>>;
/** One handler per route; a route without one is a compile error. */
type Handlers = { [K in RouteName]: Handler<K> };

const deleted = { deleted: true as const };

const notSignedIn = () =>
  new FerryError("unauthenticated", "no browser session: this route reads the session cookie; sign in with POST /api/sessions (the web UI's sign-in page)");

/**
 * A run carries its parameters and job variables from creation to every list page it appears in:
 * they are bounded each, so that a page of runs stays within what a list answer may hold.
 */
function checkRunInputSizes(body: { parameters?: unknown; job_variables?: unknown }): void {
  checkJsonSize(body.parameters, LIMITS.parametersBytes, "parameters");
  checkJsonSize(body.job_variables, LIMITS.parametersBytes, "job_variables");
}

export const handlers: Handlers = {
  getWorkspace: async (_ctx, ws) => toWorkspace(ws),
  getMe: async (_ctx, ws, _input, { request, version }) => ({
    workspace: toWorkspace(ws),
    credential: {
      kind: request.apiKeyId ? "api_key" : request.session ? "session" : "access_token",
      // Every caller that reaches a workspace route has a role (run tokens are refused by this route).
      role: request.role ?? "viewer",
      api_key_id: request.apiKeyId ?? null,
    },
    server_version: version,
  }),
  getQuota: (ctx, ws) => quota(ctx, ws),
  getQuotaUsage: (ctx, ws, { query }) => quotaUsage(ctx, ws, query?.days ?? 30),

  createSession: async (ctx, _ws, { body }, { request, reply, address, signIns }) => {
    // Public (it is how one signs in), so the authenticator's Origin check does not run: a page of
    // another site must not sign a browser in to a workspace of its choosing either.
    assertOwnOrigin(request, address);
    const { cookie, session } = await createSession(ctx, body.api_key, { throttle: signIns, address: request.ip });
    setSessionCookie(request, reply, address, cookie);
    return toSession(session);
  },
  getSession: async (_ctx, _ws, _input, { request }) => {
    if (!request.session) throw notSignedIn();
    return toSession(request.session);
  },
  deleteSession: async (ctx, _ws, _input, { request, reply, address }) => {
    if (!request.session) throw notSignedIn();
    await endSession(ctx, request.session);
    clearSessionCookie(request, reply, address);
    return deleted;
  },
  createLoginLink: async (ctx, ws, { body }, { request, address }) => {
    if (!request.apiKeyId) {
      throw new FerryError("forbidden", "login links are made with an API key (Authorization: Bearer), not from a browser session; run 'ferry ui'");
    }
    const base = address.url() ?? `${request.protocol}://${request.host}`;
    const link = await createLoginLink(ctx, ws, request.apiKeyId, body.path);
    return { url: `${base.replace(/\/+$/, "")}${LOGIN_LINK_PATH}?token=${encodeURIComponent(link.token)}`, expires_at: link.expires_at };
  },
  listApiKeys: (ctx, ws, { query }) => listApiKeys(ctx, ws, query ?? {}),
  createApiKey: (ctx, ws, { body }) => createApiKeyIn(ctx.store, ws.id, body.name),
  deleteApiKey: async (ctx, ws, { params }) => {
    await deleteApiKey(ctx, ws.id, params.id);
    return deleted;
  },

  listOidcTrustPolicies: (ctx, ws, { query }) => listTrustPolicies(ctx, ws, query ?? {}),
  createOidcTrustPolicy: (ctx, ws, { body }) => createTrustPolicy(ctx, ws, body),
  deleteOidcTrustPolicy: async (ctx, ws, { params }) => {
    await deleteTrustPolicy(ctx, ws, params.name);
    return deleted;
  },
  exchangeOidcToken: (ctx, _ws, { body }, { request, oidcExchanges }) =>
    exchangeOidcToken(ctx, body, request.log, { throttle: oidcExchanges, address: request.ip }),

  adminCreateWorkspace: (ctx, _ws, { body }) => createWorkspace(ctx, body),
  adminListWorkspaces: (ctx, _ws, { query }) => listWorkspaces(ctx, query ?? {}),
  adminUpdateWorkspace: (ctx, _ws, { params, body }) => {
    if (!isUuid(params.id)) throw notFound("workspace", params.id);
    return updateWorkspace(ctx, params.id, body);
  },

  listWorkPoolTypes: async (ctx) => ({
    items: ctx.registry.list().map((t) => ({
      type: t.type,
      description: t.description,
      managed: t.managed,
      credentials_type: t.credentialsType,
      plugin: t.plugin,
      default_base_job_template: t.defaultBaseJobTemplate,
    })),
  }),
  listWorkPools: (ctx, ws, { query }) => listWorkPools(ctx, ws, query ?? {}),
  createWorkPool: (ctx, ws, { body }) => createWorkPool(ctx, ws, body),
  getWorkPool: (ctx, ws, { params }) => getWorkPool(ctx, ws, params.name),
  updateWorkPool: (ctx, ws, { params, body }) => updateWorkPool(ctx, ws, params.name, body),
  deleteWorkPool: async (ctx, ws, { params }) => {
    await deleteWorkPool(ctx, ws, params.name);
    return deleted;
  },

  listCredentials: (ctx, ws, { query }) => listCredentials(ctx, ws, query ?? {}),
  createCredentials: (ctx, ws, { body }) => createCredentials(ctx, ws, body),
  getCredentials: async (ctx, ws, { params }) => {
    const record = await ctx.store.getCredentials(ws.id, params.name);
    if (!record) throw notFound("credentials", params.name, "list them with 'ferry credentials ls'");
    return toCredentials(ctx.registry.credentialTypes, record);
  },
  deleteCredentials: async (ctx, ws, { params }) => {
    await deleteCredentials(ctx, ws, params.name);
    return deleted;
  },
  listSourceStores: async (ctx) => ({
    items: [...ctx.registry.sourceStores.values()].map((s) => ({ scheme: s.scheme, credentials_type: s.credentialsType, module: s.module })),
  }),
  listCredentialTypes: async (ctx) => ({
    items: ctx.registry.credentialTypes.list().map((t) => ({ type: t.type, description: t.description, schema: t.schema, secret_fields: secretFields(t) })),
  }),

  listDeployments: (ctx, ws, { query }) => listDeployments(ctx, ws, query ?? {}),
  applyDeployment: (ctx, ws, { body }, http) => {
    checkRunInputSizes(body);
    return applyDeployment(ctx, ws, body, http.request.role ?? "admin");
  },
  getDeployment: async (ctx, ws, { params }) => {
    if (!isUuid(params.id)) throw notFound("deployment", params.id, "list deployments with 'ferry deployment ls'");
    return toDeployment(await getDeploymentOrThrow(ctx, ws, params.id));
  },
  deleteDeployment: async (ctx, ws, { params }) => {
    // Its runs are kept, except those made ahead by its schedules that have not started.
    const gone =
      isUuid(params.id) &&
      (await ctx.store.transaction(async (tx) => {
        const found = await tx.lockDeploymentForScheduling(ws.id, params.id);
        if (!found) return false;
        await tx.deleteScheduledFlowRuns(params.id, ctx.now().toISOString());
        return tx.deleteDeployment(ws.id, params.id);
      }));
    if (!gone) throw notFound("deployment", params.id, "list deployments with 'ferry deployment ls'");
    return deleted;
  },
  listDeploymentSchedules: (ctx, ws, { params }) => listDeploymentSchedules(ctx, ws, params.id),
  addDeploymentSchedule: (ctx, ws, { params, body }) => addDeploymentSchedule(ctx, ws, params.id, body),
  updateDeploymentSchedule: (ctx, ws, { params, body }) => updateDeploymentSchedule(ctx, ws, params.id, params.schedule, body),
  deleteDeploymentSchedule: (ctx, ws, { params }) => deleteDeploymentSchedule(ctx, ws, params.id, params.schedule),
  createFlowRun: (ctx, ws, { params, body }) => {
    checkRunInputSizes(body);
    return createFlowRun(ctx, ws, params.id, body);
  },

  listFlowRuns: (ctx, ws, { query }) => listFlowRuns(ctx, ws, query ?? {}),
  getFlowRun: async (ctx, ws, { params }) => toFlowRun(await getRunOrThrow(ctx, ws, params.id)),
  getFlowRunHistory: async (ctx, ws, { params }) => {
    const run = await getRunOrThrow(ctx, ws, params.id);
    return { items: await ctx.store.getFlowRunHistory(ws.id, run.id) };
  },
  setFlowRunState: (ctx, ws, { params, body }) => setFlowRunState(ctx, ws, params.id, body),
  cancelFlowRun: (ctx, ws, { params, body }) => cancelFlowRun(ctx, ws, params.id, body.reason),
  retryFlowRun: (ctx, ws, { params }) => retryFlowRun(ctx, ws, params.id),
  // Run tokens only (enforceRunScope): secrets' values leave the server only to the run's own engine.
  getFlowRunEnv: async (ctx, ws, { params }) => resolveRunEnv(ctx, await getRunOrThrow(ctx, ws, params.id)),
  listVariables: (ctx, ws, { query }) => listVariables(ctx, ws, query ?? {}),
  getVariable: (ctx, ws, { params }) => getVariable(ctx, ws, params.name),
  putVariable: (ctx, ws, { params, body }) => putVariable(ctx, ws, params.name, body.value),
  deleteVariable: async (ctx, ws, { params }) => {
    await deleteVariable(ctx, ws, params.name);
    return deleted;
  },
  listSecrets: (ctx, ws, { query }) => listSecrets(ctx, ws, query ?? {}),
  putSecret: (ctx, ws, { params, body }) => putSecret(ctx, ws, params.name, body.value),
  deleteSecret: async (ctx, ws, { params }) => {
    await deleteSecret(ctx, ws, params.name);
    return deleted;
  },
  getFlowRunSource: async (ctx, ws, { params }) => {
    const run = await getRunOrThrow(ctx, ws, params.id);
    const deployment = await ctx.store.getDeployment(ws.id, run.deployment_id);
    if (!deployment) throw notFound("deployment", run.deployment_name, "it was deleted after the run was created");
    const source = deployment.source;
    const location = parseSourceUrl(source.git_url);
    const creds = source.credentials ? await resolveCredentials(ctx.store, ctx.secrets, ws.id, source.credentials) : null;
    if (location.kind === "blob") {
      const store = ctx.registry.sourceStores.get(location.scheme);
      if (!store) throw validationError(`this server reads no ${location.scheme} sources any more: start it with that store's provider plugin in FERRY_PROVIDERS`);
      const type = creds ? ctx.registry.credentialTypes.get(creds.type) : null;
      return {
        git_url: source.git_url, branch: null, commit: null, username: null, token: null,
        blob: { module: store.module, credentials: creds ? (creds.data as Record<string, string>) : null, secret_fields: type ? secretFields(type) : [] },
      };
    }
    // Again here: the credentials may have been bound to another host since the deployment was made.
    if (creds && source.credentials) assertGitCredentialsFor(source.git_url, creds.data, source.credentials, "admin");
    // The run's own commit first: a re-run or a later attempt fetches what its first fetch got.
    return {
      git_url: source.git_url, branch: source.branch ?? null, commit: run.source_commit ?? source.commit ?? null,
      username: creds?.data.username ?? null, token: creds?.data.token ?? null, blob: null,
    };
  },
  listFlowRunLogs: (ctx, ws, { params, query }) => listLogs(ctx, ws, params.id, query ?? {}),
  exchangeRunBootstrapToken: (ctx, _ws, { body }) => exchangeBootstrapToken(ctx, body.bootstrap_token),
  writeFlowRunLogs: async (ctx, ws, { params, body }) => ({ written: await writeLogs(ctx, ws, params.id, body.logs) }),
};
