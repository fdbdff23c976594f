import type { Command } from "commander";
import {
  FerryError,
  isPushType,
  type BaseJobTemplate,
  type FerryClient,
  type ProvisionProgress,
  type ProvisionResult,
  type ProvisionStep,
} from "@ferry/core";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { profilesPath, updateProfiles } from "@ferry/client-node";
import { loadProvisioningBackend, PROVISIONABLE_TYPES, type DeprovisionProgress, type DeprovisionStep, type ProvisioningBackend } from "../provisioning.js";
import { handler, JSON_HELP, type CommandEnv } from "./shared.js";

/** Flags naming what provisioning makes, and the option key each becomes. */
const NAME_FLAGS = [
  ["--execution-role-name <name>", "executionRoleName", "execution_role_name", "IAM role ECS tasks run with (default FerryEcsTaskExecutionRole)"],
  ["--user-name <name>", "userName", "user_name", "IAM user the pool's key belongs to (default ferry-ecs-user)"],
  ["--policy-name <name>", "policyName", "policy_name", "IAM policy of that user (default ferry-ecs-policy)"],
  ["--cluster-name <name>", "clusterName", "cluster_name", "ECS cluster (default ferry-ecs-cluster)"],
  ["--vpc-name <name>", "vpcName", "vpc_name", "VPC made when the region has no default VPC (default ferry-ecs-vpc)"],
  ["--repository-name <name>", "repositoryName", "repository_name", "ECR repository for flow images (default ferry-flows)"],
  ["--task-role-arn <arn>", "taskRoleArn", "task_role_arn", "a task role the pool's runs may pass, besides the execution role"],
] as const;

export interface ProvisionFlags {
  region?: string;
  yes?: boolean;
  /** `--no-confirm` sets this to false. */
  confirm?: boolean;
  json?: boolean;
  executionRoleName?: string;
  userName?: string;
  policyName?: string;
  clusterName?: string;
  vpcName?: string;
  repositoryName?: string;
  taskRoleArn?: string;
}

/** Adds `--region`, `--yes`/`--no-confirm` and the name flags to a provisioning command. */
export function provisionOptions(command: Command, { names = true }: { names?: boolean } = {}): Command {
  command.option("--region <region>", "AWS region (default: AWS_REGION or your AWS profile's)");
  command.option("-y, --yes", "do not ask for confirmation (needed when not on a terminal)");
  command.option("--no-confirm", "same as --yes");
  if (names) for (const [flag, , , description] of NAME_FLAGS) command.option(flag, description);
  return command;
}

function provisionInputOptions(flags: ProvisionFlags): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, prop, key] of NAME_FLAGS) {
    const value = flags[prop];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function backend(ctx: CommandContext): Promise<ProvisioningBackend> {
  return (ctx.io.provisioning ?? loadProvisioningBackend)();
}

export function credentialsNameFor(pool: string): string {
  return `${pool}-aws`;
}

export function registerProvisioning(pool: Command, env: CommandEnv): void {
  provisionOptions(
    pool
      .command("provision-infra")
      .description("make the cloud side of an existing push pool (ecs:push): roles, user and key, cluster, network, registry; a re-run resumes")
      .argument("<name>", "the pool")
      .option("--json", JSON_HELP),
  ).action(
    handler(env, async (ctx, name: string, flags: ProvisionFlags) => {
      const client = await ctx.client();
      const existing = await client.api.getWorkPool({ params: { name } });
      const outcome = await provision(ctx, client, { poolName: name, type: existing.type, flags, hasPoolCredentials: existing.credentials !== null });
      if (typeof outcome === "number") return outcome;
      const template = withDefaults(ctx, existing.base_job_template, outcome.result.jobVariableDefaults);
      const updated = await client.api.updateWorkPool({
        params: { name },
        body: { base_job_template: template, ...(existing.credentials === null && outcome.credentials ? { credentials: outcome.credentials } : {}) },
      });
      await saveProfile(ctx, outcome.result);
      if (flags.json) return ctx.out.json({ plan: outcome.plan, result: publicResult(outcome), work_pool: updated });
      ctx.out.success(`Updated work pool '${name}' with the provisioned defaults${existing.credentials === null && outcome.credentials ? ` and credentials '${outcome.credentials}'` : ""}`);
    }),
  );

  provisionOptions(
    pool
      .command("deprovision")
      .description("remove the cloud resources provisioning made for a pool: only those tagged ferry:pool=NAME")
      .argument("<name>", "the pool (it may already be deleted)")
      .option("--type <type>", "pool type, when the pool no longer exists", "ecs:push")
      .option("--json", JSON_HELP),
  ).action(
    handler(env, async (ctx, name: string, flags: ProvisionFlags & { type: string }) => {
      const provisioning = await backend(ctx);
      const settings = { ...(flags.region ? { region: flags.region } : {}), names: provisionInputOptions(flags) };
      const plan = await provisioning.planDeprovision(flags.type, name, settings);
      const toDelete = plan.filter((s) => s.action === "delete");
      if (!flags.json) showDeprovisionPlan(ctx, plan);
      if (!toDelete.length) {
        if (flags.json) return ctx.out.json({ plan, removed: [] });
        ctx.out.note(`Nothing in AWS is tagged ferry:pool=${name}: nothing to remove.`);
        return;
      }
      if (!(await confirmProvisioning(ctx, flags, `Remove these ${toDelete.length} AWS resources?`, "remove AWS resources"))) {
        ctx.out.note("Nothing removed.");
        return ExitCode.failure;
      }
      const interrupt = watchInterrupt(ctx);
      try {
        await provisioning.deprovision(flags.type, name, { ...settings, signal: interrupt.signal, onProgress: (e) => progressLine(ctx, e) });
      } catch (error) {
        if (interrupt.signal.aborted) return interrupted(ctx, error);
        throw error;
      } finally {
        interrupt.dispose();
      }
      if (flags.json) return ctx.out.json({ plan, removed: toDelete });
      ctx.out.success(`Removed ${toDelete.length} AWS resources of pool '${name}'`);
      ctx.out.note(`If credentials '${credentialsNameFor(name)}' hold the deleted key, remove them with 'ferry credentials delete ${credentialsNameFor(name)}'.`);
    }),
  );
}

export interface CreateFlags extends ProvisionFlags {
  type: string;
  description?: string;
  concurrencyLimit?: number | null;
  paused?: boolean;
  credentials?: string | null;
  baseJobTemplate?: string;
}

/** `work-pool create NAME --provision-infra`: provision first; the pool is created only when that succeeded. */
export async function createWithProvisioning(ctx: CommandContext, name: string, flags: CreateFlags, baseTemplate: BaseJobTemplate | null): Promise<number | void> {
  const client = await ctx.client();
  if (!isPushType(flags.type)) throw new FerryError("validation_failed", `--provision-infra is for push pools (${PROVISIONABLE_TYPES.join(", ")}); '${flags.type}' is not one`);
  const { items } = await client.api.listWorkPoolTypes();
  const type = items.find((t) => t.type === flags.type);
  if (!type) {
    throw new FerryError(
      "not_found",
      `work pool type '${flags.type}' is not available on this server (types: ${items.map((t) => t.type).join(", ") || "none"}); the server loads it from a provider plugin listed in FERRY_PROVIDERS`,
    );
  }
  if (await exists(() => client.api.getWorkPool({ params: { name } }))) {
    throw new FerryError("conflict", `work pool '${name}' already exists; provision its infrastructure with 'ferry work-pool provision-infra ${name}'`);
  }
  const outcome = await provision(ctx, client, { poolName: name, type: flags.type, flags, hasPoolCredentials: Boolean(flags.credentials) });
  if (typeof outcome === "number") return outcome;
  const template = withDefaults(ctx, baseTemplate ?? type.default_base_job_template, outcome.result.jobVariableDefaults);
  const credentials = flags.credentials ?? outcome.credentials;
  const created = await client.api.createWorkPool({
    body: {
      name,
      type: flags.type,
      base_job_template: template,
      ...(flags.description !== undefined ? { description: flags.description } : {}),
      ...(flags.concurrencyLimit !== undefined ? { concurrency_limit: flags.concurrencyLimit } : {}),
      ...(flags.paused ? { paused: true } : {}),
      ...(credentials ? { credentials } : {}),
    },
  });
  await saveProfile(ctx, outcome.result);
  if (flags.json) return ctx.out.json({ plan: outcome.plan, result: publicResult(outcome), work_pool: created });
  ctx.out.success(`Created work pool '${created.name}' (${created.type})${credentials ? ` with credentials '${credentials}'` : ""}`);
  ctx.out.note(`Deploy to it with 'work_pool: { name: ${created.name} }' in ferry.yaml, or 'ferry deploy --pool ${created.name} ...'.`);
}

interface ProvisionOutcome {
  plan: ProvisionStep[];
  result: ProvisionResult;
  /** The credentials the pool should use: made by this run, or found from an earlier one. */
  credentials: string | null;
}

/** Plan, show, confirm, apply: shared by `create --provision-infra` and `provision-infra`. */
async function provision(
  ctx: CommandContext,
  client: FerryClient,
  { poolName, type, flags, hasPoolCredentials }: { poolName: string; type: string; flags: ProvisionFlags; hasPoolCredentials: boolean },
): Promise<ProvisionOutcome | number> {
  const credentialsName = credentialsNameFor(poolName);
  // An earlier run that stopped after making the key stored it already: use it, make no second key.
  const earlierCredentials = hasPoolCredentials ? false : await exists(() => client.api.getCredentials({ params: { name: credentialsName } }));
  let madeCredentials = false;
  const provisioning = await backend(ctx);
  const provisioner = provisioning.provisioner(type, {
    ...(flags.region ? { region: flags.region } : {}),
    saveCredentials: async (credentials) => {
      await client.api.createCredentials({ body: { name: credentialsName, type: credentials.type, data: credentials.data } });
      madeCredentials = true;
    },
  });
  if (!provisioner) {
    throw new FerryError("validation_failed", `pools of type '${type}' cannot be provisioned by this CLI; provisionable types: ${PROVISIONABLE_TYPES.join(", ")}`);
  }
  const input = { poolName, options: provisionInputOptions(flags), hasCredentials: hasPoolCredentials || earlierCredentials };
  const plan = await provisioner.plan(input);
  const toCreate = plan.filter((s) => s.action === "create");
  if (!flags.json) showPlan(ctx, plan);
  if (toCreate.length && !(await confirmProvisioning(ctx, flags, `Create these ${toCreate.length} AWS resources?`, "create AWS resources"))) {
    ctx.out.note("Nothing created.");
    return ExitCode.failure;
  }
  const interrupt = watchInterrupt(ctx);
  let result: ProvisionResult;
  try {
    result = await provisioner.apply({ ...input, signal: interrupt.signal }, (event) => progressLine(ctx, event));
  } catch (error) {
    if (madeCredentials) ctx.out.note(`The new access key is stored as credentials '${credentialsName}'; a re-run uses it and makes no other key.`);
    if (interrupt.signal.aborted) return interrupted(ctx, error);
    throw error;
  } finally {
    interrupt.dispose();
  }
  return { plan, result, credentials: madeCredentials || earlierCredentials ? credentialsName : null };
}

/** Fills each variable the template declares with the provisioned default; says which it has not. */
export function withDefaults(ctx: CommandContext, template: BaseJobTemplate, defaults: Record<string, unknown>): BaseJobTemplate {
  const copy = structuredClone(template);
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(defaults)) {
    const variable = copy.variables.properties[key];
    if (variable) copy.variables.properties[key] = { ...variable, default: value };
    else unknown.push(key);
  }
  if (unknown.length) ctx.out.warn(`the pool's template has no variable ${unknown.map((k) => `'${k}'`).join(", ")}; not set`);
  return copy;
}

async function saveProfile(ctx: CommandContext, result: ProvisionResult): Promise<void> {
  const namespace = result.profile?.default_image_namespace;
  if (!namespace) return;
  const settings = await ctx.settings();
  if (!settings.profileName) {
    ctx.out.note(`Images for this pool go to ${namespace} (no profile is active to save it in).`);
    return;
  }
  const profileName = settings.profileName;
  await updateProfiles(profilesPath(ctx.home), (file) => {
    const profile = file.profiles[profileName];
    if (profile) profile.default_image_namespace = namespace;
  });
  ctx.out.note(`Saved default_image_namespace ${namespace} in profile '${profileName}'.`);
}

/** The result without the secret: the credentials by name only. */
function publicResult(outcome: ProvisionOutcome): Record<string, unknown> {
  return { job_variable_defaults: outcome.result.jobVariableDefaults, profile: outcome.result.profile ?? {}, credentials: outcome.credentials };
}

async function confirmProvisioning(ctx: CommandContext, flags: ProvisionFlags, question: string, what: string): Promise<boolean> {
  if (flags.yes || flags.confirm === false) return true;
  if (!ctx.io.stdinIsTTY) throw new FerryError("validation_failed", `refusing to ${what} without confirmation; pass --yes when not running on a terminal`);
  return ctx.io.confirm(question);
}

function showPlan(ctx: CommandContext, plan: ProvisionStep[]): void {
  const c = ctx.out.colors;
  ctx.out.table(plan, [
    { header: "STEP", value: (s) => String(plan.indexOf(s) + 1) },
    { header: "RESOURCE", value: (s) => s.resource },
    { header: "NAME", value: (s) => s.name },
    { header: "ACTION", value: (s) => (s.action === "create" ? c.green("create") : c.dim("exists")) },
    { header: "DETAIL", value: (s) => s.detail ?? "" },
  ]);
}

function showDeprovisionPlan(ctx: CommandContext, plan: DeprovisionStep[]): void {
  if (!plan.length) return;
  const c = ctx.out.colors;
  ctx.out.table(plan, [
    { header: "RESOURCE", value: (s) => s.resource },
    { header: "NAME", value: (s) => s.name },
    { header: "ACTION", value: (s) => (s.action === "delete" ? c.red("delete") : c.dim("keep")) },
    { header: "DETAIL", value: (s) => s.detail ?? "" },
  ]);
}

/** One line per finished step on stderr: ✓ made or removed, – already there or left alone, ✗ failed. */
function progressLine(ctx: CommandContext, event: ProvisionProgress | DeprovisionProgress): void {
  const { step, status, message } = event;
  if (status === "started") return;
  const mark = status === "done" ? "✓" : status === "skipped" ? "–" : "✗";
  const verb =
    status === "failed" ? "failed" : status === "skipped" ? (step.action === "keep" ? "left alone" : "exists") : step.action === "delete" ? "removed" : "created";
  ctx.out.note(`${mark} ${step.resource} ${step.name}: ${verb}${message && status !== "failed" ? ` (${message})` : ""}`);
}

function watchInterrupt(ctx: CommandContext): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const next = ctx.io.nextSignal();
  void next.signal.then((s) => {
    ctx.out.note(`${s}: stopping after the step in progress…`);
    controller.abort(new Error(`interrupted by ${s}`));
  });
  return { signal: controller.signal, dispose: () => next.dispose() };
}

function interrupted(ctx: CommandContext, error: unknown): number {
  ctx.io.stderr.write(`${(error as Error)?.message ?? String(error)}\n`);
  return ExitCode.interrupted;
}

async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (error) {
    if ((error as { code?: unknown })?.code === "not_found") return false;
    throw error;
  }
}
