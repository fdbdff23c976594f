import {
  envReferences,
  missingReferences,
  notFound,
  resolveEnvReferences,
  runEnv,
  type FlowRunRecord,
  type ListQuery,
  type Page,
  type Secret,
  type SecretRecord,
  type StoreTx,
  type Variable,
  type VariableRecord,
  type WorkspaceRecord,
} from "@ferry/core";
import type { ServiceContext } from "./context.js";
import { listPage } from "./lists.js";

/** Binds a secret's ciphertext to its workspace and name, as credentials' are: a row copied elsewhere does not decrypt. */
const aad = (workspaceId: string, name: string) => `secret:${workspaceId}:${name}`;

export function toVariable(r: VariableRecord): Variable {
  return { name: r.name, value: r.value, created_at: r.created_at, updated_at: r.updated_at };
}

/** A secret as the API shows it: never its value, not even encrypted. */
export function toSecret(r: SecretRecord): Secret {
  return { name: r.name, created_at: r.created_at, updated_at: r.updated_at };
}

export function listVariables(ctx: ServiceContext, ws: WorkspaceRecord, query: ListQuery): Promise<Page<Variable>> {
  return listPage({
    query,
    keys: ["name"] as const,
    keyOf: (row: VariableRecord) => ({ name: row.name }),
    fetch: (after, n) => ctx.store.listVariables(ws.id, { limit: n, after: after?.name }),
    toItem: toVariable,
    total: () => ctx.store.totalVariables(ws.id),
  });
}

export async function getVariable(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<Variable> {
  const [found] = await ctx.store.getVariables(ws.id, [name]);
  if (!found) throw notFound("variable", name, "list variables with 'ferry variable ls'");
  return toVariable(found);
}

export async function putVariable(ctx: ServiceContext, ws: WorkspaceRecord, name: string, value: string): Promise<Variable> {
  return toVariable(await ctx.store.putVariable(ws.id, name, value));
}

export async function deleteVariable(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<void> {
  if (!(await ctx.store.deleteVariable(ws.id, name))) throw notFound("variable", name, "list variables with 'ferry variable ls'");
}

export function listSecrets(ctx: ServiceContext, ws: WorkspaceRecord, query: ListQuery): Promise<Page<Secret>> {
  return listPage({
    query,
    keys: ["name"] as const,
    keyOf: (row: SecretRecord) => ({ name: row.name }),
    fetch: (after, n) => ctx.store.listSecrets(ws.id, { limit: n, after: after?.name }),
    toItem: toSecret,
    total: () => ctx.store.totalSecrets(ws.id),
  });
}

export async function putSecret(ctx: ServiceContext, ws: WorkspaceRecord, name: string, value: string): Promise<Secret> {
  return toSecret(await ctx.store.putSecret(ws.id, name, ctx.secrets.encrypt(value, aad(ws.id, name))));
}

export async function deleteSecret(ctx: ServiceContext, ws: WorkspaceRecord, name: string): Promise<void> {
  if (!(await ctx.store.deleteSecret(ws.id, name))) throw notFound("secret", name, "list secrets with 'ferry secret ls'");
}

/** Refuses, at deploy time, an env that refers to a variable or secret the workspace does not have. */
export async function assertEnvReferencesExist(store: StoreTx, workspaceId: string, env: unknown): Promise<void> {
  const refs = envReferences(env);
  if (!refs.variables.length && !refs.secrets.length) return;
  const [variables, secrets] = await Promise.all([store.getVariables(workspaceId, refs.variables), store.getSecrets(workspaceId, refs.secrets)]);
  const have = { variables: new Set(variables.map((v) => v.name)), secrets: new Set(secrets.map((s) => s.name)) };
  const missing = [
    ...refs.variables.filter((n) => !have.variables.has(n)).map((n) => `variable '${n}'`),
    ...refs.secrets.filter((n) => !have.secrets.has(n)).map((n) => `secret '${n}'`),
  ];
  if (missing.length) throw missingReferences(missing);
}

/**
 * The run's env references resolved, for its engine (run token only): the entries that refer to
 * variables or secrets with their values in, and the secrets' values to mask in its logs. Read at the
 * attempt's start, so a secret changed since the deployment was made is the new one.
 */
export async function resolveRunEnv(ctx: ServiceContext, run: FlowRunRecord): Promise<{ env: Record<string, string>; masked: string[] }> {
  const deployment = await ctx.store.getDeployment(run.workspace_id, run.deployment_id);
  if (!deployment) throw notFound("deployment", run.deployment_name, "it was deleted after the run was created");
  const env = runEnv(deployment.job_variables, run.job_variables);
  const refs = envReferences(env);
  const [variables, secrets] = await Promise.all([ctx.store.getVariables(run.workspace_id, refs.variables), ctx.store.getSecrets(run.workspace_id, refs.secrets)]);
  const secretValues = new Map(secrets.map((s) => [s.name, ctx.secrets.decrypt(s.ciphertext, aad(run.workspace_id, s.name))]));
  const resolved = resolveEnvReferences(env, { variables: new Map(variables.map((v) => [v.name, v.value])), secrets: secretValues });
  return { env: resolved, masked: [...secretValues.values()] };
}
