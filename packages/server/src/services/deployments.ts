import {
  clip,
  assertGitCredentialsFor,
  assertSlug,
  compileSchema,
  FerryError,
  formatEntrypoint,
  newId,
  notFound,
  parseEntrypoint,
  parseSourceUrl,
  type BlobLocation,
  type SourceStore,
  validateJobVariables,
  validateWithSchema,
  validationError,
  validateSchedule,
  sameSchedule,
  assertSchedulableParameters,
  DEPLOYMENT_SCHEDULING_DEFAULTS,
  resolveRetryPolicy,
  type Deployment,
  type DeploymentApply,
  type DeploymentApplyResult,
  type DeploymentListQuery,
  type Page,
  type DeploymentRecord,
  type PullStep,
  type Role,
  type WorkspaceRecord,
} from "@ferry/core";
import { assertManagedImage, type ServiceContext } from "./context.js";
import { listPage } from "./lists.js";
import { resetScheduledRuns } from "./schedules.js";
import { assertEnvReferencesExist } from "./variables.js";
import { getPoolOrThrow } from "./work-pools.js";

/** A page of the workspace's deployments by flow name and name, filtered and searched as asked. */
export function listDeployments(ctx: ServiceContext, ws: WorkspaceRecord, query: DeploymentListQuery): Promise<Page<Deployment>> {
  const filter = { work_pool: query.work_pool, flow_name: query.flow_name, name: query.name, search: query.search };
  return listPage({
    query,
    keys: ["flow_name", "name"] as const,
    keyOf: (row: DeploymentRecord) => ({ flow_name: row.flow_name, name: row.name }),
    fetch: (after, n) => ctx.store.listDeployments(ws.id, filter, { limit: n, after }),
    toItem: toDeployment,
    total: () => ctx.store.totalDeployments(ws.id, filter),
  });
}

export function toDeployment(record: DeploymentRecord): Deployment {
  const { workspace_id: _ws, work_pool_id: _pool, parameter_schema_key: _key, schedules_checked_at: _checked, ...deployment } = record;
  return deployment;
}

/** Pull steps the engine knows, as in Prefect's `pull:` section. */
export const PULL_STEPS = ["git_clone", "pip_install_requirements", "npm_install", "set_working_directory", "run_shell_script"];

const GIT_URL = /^(https?:\/\/[^\s]+|ssh:\/\/[^\s]+|git@[^\s:]+:[^\s]+|file:\/\/\/[^\s]+)$/;

export function validateGitUrl(url: string): string {
  if (!GIT_URL.test(url)) {
    throw validationError(`source.git_url '${clip(url)}' is not a git URL; use https://host/owner/repo.git, git@host:owner/repo.git, ssh:// or file:///path`);
  }
  if (/^https?:\/\/[^/@]*:[^/@]*@/.test(url) || /^https?:\/\/[^/@]+@/.test(url)) {
    throw validationError(
      "source.git_url must not carry a user or token; store the token as git credentials (ferry credentials create NAME --type git) and name them in source.credentials",
    );
  }
  return url;
}

/** The plugin that reads a blob source's store; a blob source has no branch or commit. */
function blobSourceStore(ctx: ServiceContext, location: BlobLocation, source: ReturnType<typeof normalizeSource>): SourceStore {
  if (source.branch || source.commit) {
    throw validationError(`source '${clip(location.url)}' is a blob store's prefix: it has no branch or commit; remove source.branch and source.commit`);
  }
  const store = ctx.registry.sourceStores.get(location.scheme);
  if (!store) {
    const known = [...ctx.registry.sourceStores.keys()];
    throw validationError(
      `this server reads no ${location.scheme} sources: start it with the provider plugin of that store in FERRY_PROVIDERS${known.length ? ` (it reads ${known.join(", ")})` : ""}`,
    );
  }
  return store;
}

function validatePullSteps(steps: PullStep[] | null | undefined): PullStep[] | null {
  if (!steps) return null;
  steps.forEach((step, i) => {
    const [name] = Object.keys(step);
    if (!name || !PULL_STEPS.includes(name)) {
      throw validationError(`pull_steps[${i}] '${name}' is not a known step; use one of ${PULL_STEPS.join(", ")}`);
    }
  });
  return steps;
}

/** Deployments compare equal when everything a user set is equal; timestamps and ids don't count. */
function sameContent(a: Omit<DeploymentRecord, "id" | "workspace_id" | "created_at" | "updated_at">, b: DeploymentRecord): boolean {
  const pick = (d: typeof a) => ({
    flow_name: d.flow_name, name: d.name, work_pool: d.work_pool, work_pool_id: d.work_pool_id, source: normalizeSource(d.source),
    entrypoint: d.entrypoint, job_variables: d.job_variables, parameters: d.parameters, parameter_schema: d.parameter_schema,
    pull_steps: d.pull_steps, tags: d.tags, description: d.description, paused: d.paused, schedules: d.schedules,
    catchup_policy: d.catchup_policy, catchup_max_runs: d.catchup_max_runs, concurrency_limit: d.concurrency_limit,
    collision_strategy: d.collision_strategy, late_after_seconds: d.late_after_seconds,
    retries: d.retries, retry_delay_seconds: d.retry_delay_seconds, retry_on_crash: d.retry_on_crash,
  });
  return stableJson(pick(a)) === stableJson(pick(b));
}

function normalizeSource(source: Deployment["source"]) {
  return { git_url: source.git_url, branch: source.branch ?? null, commit: source.commit ?? null, credentials: source.credentials ?? null };
}

export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  );
}

/** `role`: the caller's (admin for API keys and sessions): it decides which git credentials it may attach. */
export async function applyDeployment(ctx: ServiceContext, ws: WorkspaceRecord, input: DeploymentApply, role: Role = "admin"): Promise<DeploymentApplyResult> {
  const name = assertSlug("deployment", input.name);
  const flowName = assertSlug("flow", input.flow_name);
  const entrypoint = formatEntrypoint(parseEntrypoint(input.entrypoint));
  const location = parseSourceUrl(input.source.git_url);
  const source = normalizeSource({ ...input.source, git_url: location.kind === "git" ? validateGitUrl(input.source.git_url) : input.source.git_url });
  const sourceStore = location.kind === "blob" ? blobSourceStore(ctx, location, source) : null;
  if (source.branch && source.commit) {
    // Both is fine (commit wins); only say so when the branch is obviously malformed.
    if (/\s/.test(source.branch)) throw validationError(`source.branch '${source.branch}' is not a branch name`);
  }
  const parameterSchema = input.parameter_schema ?? null;
  const parameters = input.parameters ?? {};
  if (parameterSchema) {
    compileSchema(parameterSchema, "parameter_schema");
    // Defaults may leave out required parameters: a run supplies them.
    const { required: _required, ...partial } = parameterSchema;
    validateWithSchema(partial, parameters, "parameters");
  }
  const pullSteps = validatePullSteps(input.pull_steps);
  const specs = (input.schedules ?? []).map(({ active, ...spec }, i) => ({ spec: validateSchedule(spec, `schedules[${i}]`), active: active ?? true }));
  // Only schedules that make runs: a paused one is checked when it is resumed.
  if (specs.some((s) => s.active)) assertSchedulableParameters(`${flowName}/${name}`, parameterSchema, parameters);

  const result = await ctx.store.transaction(async (tx) => {
    const pool = await getPoolOrThrow(tx, ws.id, input.work_pool);
    const jobVariables = validateJobVariables(pool.base_job_template, input.job_variables ?? {}, `job variables for pool '${pool.name}' (${pool.type})`);
    assertManagedImage(ctx, pool.type, jobVariables);
    // A reference to a variable or secret that does not exist is refused now rather than at each run's start.
    await assertEnvReferencesExist(tx, ws.id, jobVariables.env);
    if (source.credentials) {
      const creds = await tx.getCredentials(ws.id, source.credentials);
      const wanted = sourceStore?.credentialsType ?? "git";
      if (!creds) throw notFound("credentials", source.credentials, `create them with 'ferry credentials create NAME --type ${wanted}'`);
      if (creds.type !== wanted) {
        throw validationError(`source.credentials '${source.credentials}' are ${creds.type} credentials; a ${sourceStore ? `${sourceStore.scheme} source needs ${wanted}` : "git source needs git"} credentials`);
      }
      // A git token goes wherever the URL points: bound to a host, or attached by an admin only.
      if (!sourceStore) assertGitCredentialsFor(source.git_url, creds.plain_data as { host?: string }, source.credentials, role);
    }
    const base = {
      flow_name: flowName,
      name,
      work_pool: pool.name,
      work_pool_id: pool.id,
      source,
      entrypoint,
      job_variables: jobVariables,
      parameters,
      parameter_schema: parameterSchema,
      pull_steps: pullSteps,
      tags: [...new Set(input.tags ?? [])],
      description: input.description ?? null,
      paused: input.paused ?? false,
      catchup_policy: input.catchup_policy ?? DEPLOYMENT_SCHEDULING_DEFAULTS.catchup_policy,
      catchup_max_runs: input.catchup_max_runs ?? DEPLOYMENT_SCHEDULING_DEFAULTS.catchup_max_runs,
      concurrency_limit: input.concurrency_limit ?? null,
      collision_strategy: input.collision_strategy ?? DEPLOYMENT_SCHEDULING_DEFAULTS.collision_strategy,
      late_after_seconds: input.late_after_seconds ?? DEPLOYMENT_SCHEDULING_DEFAULTS.late_after_seconds,
      ...resolveRetryPolicy(input),
    };
    const found = await tx.getDeploymentByName(ws.id, flowName, name);
    // Locked while it changes: a scheduler pass deciding its runs meanwhile waits, then reads the change.
    const existing = found ? (await tx.lockDeploymentForScheduling(ws.id, found.id))?.deployment ?? null : null;
    // A schedule given again keeps its id, so `ferry deployment schedule` commands keep naming it.
    const unused = [...(existing?.schedules ?? [])];
    const schedules = specs.map(({ spec, active }) => {
      const same = unused.findIndex((s) => sameSchedule(s, spec));
      const id = same >= 0 ? unused.splice(same, 1)[0]!.id : newId();
      return { id, active, ...spec };
    });
    const content = { ...base, schedules };
    if (!existing) {
      const created = await tx.insertDeployment({ id: newId(), workspace_id: ws.id, ...content });
      return { deployment: toDeployment(created), action: "created" as const };
    }
    if (sameContent(content, existing)) return { deployment: toDeployment(existing), action: "unchanged" as const };
    const updated = await tx.updateDeployment(ws.id, existing.id, content);
    if (!updated) throw new FerryError("conflict", `deployment ${flowName}/${name} changed while it was being updated; apply it again`);
    // Runs created ahead carry what the deployment was: they are made again from what it is now.
    await resetScheduledRuns(ctx, tx, updated);
    return { deployment: toDeployment(updated), action: "updated" as const };
  });
  if (result.action !== "unchanged") ctx.dispatch.schedulesChanged?.();
  return result;
}

export async function getDeploymentOrThrow(ctx: ServiceContext, ws: WorkspaceRecord, id: string): Promise<DeploymentRecord> {
  const d = await ctx.store.getDeployment(ws.id, id);
  if (!d) throw notFound("deployment", id, "list deployments with 'ferry deployment ls'");
  return d;
}
