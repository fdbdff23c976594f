import type { Command } from "commander";
import {
  FerryError,
  isFerryError,
  isPushType,
  type BaseJobTemplate,
  type FerryClient,
  type ProviderInfo,
  type ProvisionProgress,
  type ProvisionResult,
  type ProvisionStep,
  type Provisioner,
  type RemovalProgress,
  type RemovalStep,
} from "@ferry/core";
import { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { profilesPath, updateProfiles } from "@ferry/client-node";
import { addProvisionFlags, checkProvisionOptions, givenOptions, loadProvisioning, type ProvisioningSetup } from "../provisioning.js";
import { confirmOrYes, handler, YES_HELP, JSON_HELP, type CommandEnv } from "./shared.js";

export interface ProvisionFlags {
  yes?: boolean;
  /** `--no-confirm` sets this to false. */
  confirm?: boolean;
  json?: boolean;
}

/**
 * The provisioning commands' flags come from the providers' client plugins, so they are loaded before
 * the command's arguments are parsed, and only for these commands (and their --help): every other
 * command starts without importing a plugin.
 */
export class ProvisioningFlags {
  private loaded: ProvisioningSetup | undefined;

  constructor(private readonly env: CommandEnv) {}

  /** Installs the loading on `pool` (the `work-pool` command): before `create --provision-infra`, `provision-infra`, `deprovision`. */
  install(pool: Command): void {
    pool.hook("preSubcommand", async (_pool, sub) => {
      const argv = this.env.state.argv ?? [];
      const help = argv.includes("--help") || argv.includes("-h");
      const name = sub.name();
      if (name === "create" && !argv.includes("--provision-infra") && !help) {
        this.env.state.usageHint = "provider options apply only with --provision-infra; see 'ferry work-pool create --provision-infra --help'";
        return;
      }
      if (name !== "create" && name !== "provision-infra" && name !== "deprovision") return;
      const ctx = new CommandContext(this.env.io, sub.optsWithGlobals());
      this.env.state.context = ctx;
      this.loaded = await loadProvisioning(ctx, { tolerateServer: help });
      addProvisionFlags(sub, this.loaded.flags, this.loaded);
      if (help) sub.addHelpText("after", helpNote(this.loaded));
    });
  }

  setup(): ProvisioningSetup {
    if (!this.loaded) throw new FerryError("internal", "the provisioning flags were not loaded before the command ran");
    return this.loaded;
  }
}

/** What --help says about where provisioning comes from. */
function helpNote(setup: ProvisioningSetup): string {
  const lines = ["", `Provisioning works for pool types whose provider has a client plugin${setup.flags.length ? "; the provider options above come from those plugins" : ""}.`];
  const types = setup.plugins.provisioners().map((p) => `${p.provisioner.type} (${p.plugin})`);
  lines.push(`Types with a provisioner here: ${types.join(", ") || "none"}.`);
  for (const u of setup.plugins.unavailable) lines.push(`Not loaded: ${u.message.replace(/^its plugin /, "")}.`);
  if (setup.serverError) lines.push(`The server's pool types were not read (${setup.serverError}): only FERRY_PROVIDERS and the profile's providers were loaded.`);
  return `${lines.join("\n")}\n`;
}

export function credentialsNameFor(pool: string, credentialsType: string): string {
  return `${pool}-${credentialsType}`;
}

export function confirmFlags(command: Command): Command {
  return command.option("-y, --yes", YES_HELP).option("--no-confirm", "same as --yes");
}

export function registerProvisioning(pool: Command, env: CommandEnv, flags: ProvisioningFlags): void {
  confirmFlags(
    pool
      .command("provision-infra")
      .description("make the cloud side of an existing push pool with your own cloud identity, and fill its template's defaults; a re-run resumes")
      .argument("<name>", "the pool")
      .option("--json", JSON_HELP),
  ).action(
    handler(env, async (ctx, name: string, options: ProvisionFlags & Record<string, unknown>) => {
      const setup = flags.setup();
      const client = await ctx.client();
      const existing = await client.api.getWorkPool({ params: { name } });
      const typeInfo = setup.poolTypes.find((t) => t.type === existing.type);
      const provisioner = provisionerOf(setup, existing.type, typeInfo, `pool '${name}' is of type ${existing.type}: Ferry runs its flows, there is no cloud side to provision`);
      const given = checkProvisionOptions(provisioner, givenOptions(setup.flags, options));
      const outcome = await provision(ctx, client, { poolName: name, provisioner, typeInfo, options: given, flags: options, hasPoolCredentials: existing.credentials !== null });
      if (typeof outcome === "number") return outcome;
      const template = withDefaults(ctx, existing.base_job_template, outcome.result.jobVariableDefaults);
      const updated = await client.api.updateWorkPool({
        params: { name },
        body: { base_job_template: template, ...(existing.credentials === null && outcome.credentials ? { credentials: outcome.credentials } : {}) },
      });
      await saveProfile(ctx, outcome.result);
      if (options.json) return ctx.out.json({ plan: outcome.plan, result: publicResult(outcome), work_pool: updated });
      ctx.out.success(`Updated work pool '${name}' with the provisioned defaults${existing.credentials === null && outcome.credentials ? ` and credentials '${outcome.credentials}'` : ""}`);
    }),
  );

  confirmFlags(
    pool
      .command("deprovision")
      .description("remove the cloud resources provisioning made for a pool: only those carrying the pool's tag or label")
      .argument("<name>", "the pool (it may already be deleted)")
      .option("--type <type>", "the pool's type, needed when the pool no longer exists")
      .option("--json", JSON_HELP),
  ).action(
    handler(env, async (ctx, name: string, options: ProvisionFlags & { type?: string } & Record<string, unknown>) => {
      const setup = flags.setup();
      const client = await ctx.client();
      const { type, poolDefaults } = await poolType(client, name, options.type, setup);
      const typeInfo = setup.poolTypes.find((t) => t.type === type);
      const provisioner = provisionerOf(setup, type, typeInfo, `pools of type ${type} have no cloud side (Ferry runs their flows): nothing to remove`);
      // The pool's template says where provisioning made things (a region…): removal looks there.
      const input = { poolName: name, options: checkProvisionOptions(provisioner, givenOptions(setup.flags, options)), ...(poolDefaults ? { poolDefaults } : {}) };
      const cloudPlan = await provisioner.planRemoval(input);
      // The credentials provisioning stored for the pool (under the name it always uses) go too: they hold
      // a key removal deletes, or a token the user gave only for this pool.
      const stored = typeInfo?.credentials_type ? credentialsNameFor(name, typeInfo.credentials_type) : null;
      const storedExists = stored !== null && (await exists(() => client.api.getCredentials({ params: { name: stored } })));
      const credentialsStep: RemovalStep | null = storedExists
        ? { id: "ferry-credentials", resource: "Ferry credentials", name: stored, action: "delete", detail: "stored by provisioning" }
        : null;
      const plan = credentialsStep ? [...cloudPlan, credentialsStep] : cloudPlan;
      const toDelete = cloudPlan.filter((s) => s.action === "delete");
      if (!options.json) showRemovalPlan(ctx, plan);
      if (!toDelete.length && !credentialsStep) {
        if (options.json) return ctx.out.json({ plan, removed: [] });
        ctx.out.note(`No cloud resource carries the tag of pool '${name}': nothing to remove.`);
        return;
      }
      const count = toDelete.length + (credentialsStep ? 1 : 0);
      if (!(await confirmProvisioning(ctx, options, `Remove these ${count} resources?`, "remove cloud resources"))) {
        ctx.out.note("Nothing removed.");
        return ExitCode.failure;
      }
      if (!toDelete.length) {
        ctx.out.note(`No cloud resource carries the tag of pool '${name}'.`);
        const removed = await removeStoredCredentials(ctx, client, name, credentialsStep!);
        if (options.json) return ctx.out.json({ plan, removed: removed ? [credentialsStep] : [] });
        return;
      }
      const interrupt = watchInterrupt(ctx);
      try {
        await provisioner.remove({ ...input, signal: interrupt.signal }, (e) => progressLine(ctx, e));
      } catch (error) {
        if (interrupt.signal.aborted) return interrupted(ctx, error);
        throw error;
      } finally {
        interrupt.dispose();
      }
      const credentialsRemoved = credentialsStep ? await removeStoredCredentials(ctx, client, name, credentialsStep) : false;
      if (options.json) return ctx.out.json({ plan, removed: credentialsRemoved ? [...toDelete, credentialsStep] : toDelete });
      ctx.out.success(`Removed ${toDelete.length} cloud resources of pool '${name}'`);
    }),
  );
}

/**
 * The pool's own type and its template's job-variable defaults; `--type` only when the pool is gone
 * (there is no default type, and no defaults).
 */
async function poolType(client: FerryClient, name: string, given: string | undefined, setup: ProvisioningSetup): Promise<{ type: string; poolDefaults: Record<string, unknown> | null }> {
  let existing: { type: string; base_job_template: { variables?: { properties?: Record<string, { default?: unknown }> } } } | null = null;
  try {
    existing = await client.api.getWorkPool({ params: { name } });
  } catch (error) {
    if (!isFerryError(error, "not_found")) throw error;
  }
  if (existing && given && given !== existing.type) {
    throw new FerryError("validation_failed", `work pool '${name}' is of type ${existing.type}, not ${given}; leave out --type`);
  }
  if (existing) {
    const properties = existing.base_job_template.variables?.properties ?? {};
    const poolDefaults = Object.fromEntries(Object.entries(properties).flatMap(([key, p]) => (p && p.default !== undefined && p.default !== null ? [[key, p.default]] : [])));
    return { type: existing.type, poolDefaults };
  }
  if (!given) {
    throw new FerryError(
      "validation_failed",
      `work pool '${name}' does not exist (any more): give its type with --type TYPE (types with a provisioner here: ${setup.plugins.provisionableTypes().join(", ") || "none"})`,
    );
  }
  return { type: given, poolDefaults: null };
}

/** The type's provisioner, or an error listing the types that have one (`notPush` says why a type that is not a push type has none). */
function provisionerOf(setup: ProvisioningSetup, type: string, typeInfo: ProviderInfo | undefined, notPush: string): Provisioner {
  if (!isPushType(type)) {
    throw new FerryError("validation_failed", `${notPush}; types with a provisioner here: ${setup.plugins.provisionableTypes().join(", ") || "none"}`);
  }
  return setup.plugins.provisioner(type, typeInfo?.plugin ?? null);
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
export async function createWithProvisioning(
  ctx: CommandContext,
  setup: ProvisioningSetup,
  name: string,
  flags: CreateFlags & Record<string, unknown>,
  baseTemplate: BaseJobTemplate | null,
): Promise<number | void> {
  const client = await ctx.client();
  const typeInfo = setup.poolTypes.find((t) => t.type === flags.type);
  if (!typeInfo) {
    throw new FerryError(
      "not_found",
      `work pool type '${flags.type}' is not available on this server (types: ${setup.poolTypes.map((t) => t.type).join(", ") || "none"}); the server loads it from a provider plugin listed in FERRY_PROVIDERS`,
    );
  }
  const provisioner = provisionerOf(setup, flags.type, typeInfo, `--provision-infra is for push pools, and '${flags.type}' is not one (Ferry runs its flows: there is no cloud side to make)`);
  const options = checkProvisionOptions(provisioner, givenOptions(setup.flags, flags));
  if (await exists(() => client.api.getWorkPool({ params: { name } }))) {
    throw new FerryError("conflict", `work pool '${name}' already exists; provision its infrastructure with 'ferry work-pool provision-infra ${name}'`);
  }
  const outcome = await provision(ctx, client, { poolName: name, provisioner, typeInfo, options, flags, hasPoolCredentials: Boolean(flags.credentials) });
  if (typeof outcome === "number") return outcome;
  const template = withDefaults(ctx, baseTemplate ?? typeInfo.default_base_job_template, outcome.result.jobVariableDefaults);
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

interface ProvisionRequest {
  poolName: string;
  provisioner: Provisioner;
  typeInfo: ProviderInfo | undefined;
  /** Checked with checkProvisionOptions. */
  options: Record<string, string>;
  flags: ProvisionFlags;
  hasPoolCredentials: boolean;
}

/** Plan, show, confirm, apply: shared by `create --provision-infra` and `provision-infra`. */
async function provision(ctx: CommandContext, client: FerryClient, request: ProvisionRequest): Promise<ProvisionOutcome | number> {
  const { poolName, provisioner, typeInfo, options, flags, hasPoolCredentials } = request;
  // An earlier run that stopped after making credentials stored them already: use them, make no second key.
  const expected = typeInfo?.credentials_type ? credentialsNameFor(poolName, typeInfo.credentials_type) : null;
  const earlier = !hasPoolCredentials && expected !== null && (await exists(() => client.api.getCredentials({ params: { name: expected } })));
  const made: { name: string | null } = { name: null };
  const input = {
    poolName,
    options,
    hasCredentials: hasPoolCredentials || earlier,
    saveCredentials: async (credentials: { type: string; data: Record<string, string> }) => {
      const name = credentialsNameFor(poolName, credentials.type);
      await client.api.createCredentials({ body: { name, type: credentials.type, data: credentials.data } });
      made.name = name;
    },
  };
  const plan = await provisioner.plan(input);
  const toCreate = plan.filter((s) => s.action === "create");
  if (!flags.json) showPlan(ctx, plan);
  if (toCreate.length && !(await confirmProvisioning(ctx, flags, `Create these ${toCreate.length} cloud resources?`, "create cloud resources"))) {
    ctx.out.note("Nothing created.");
    return ExitCode.failure;
  }
  const interrupt = watchInterrupt(ctx);
  let result: ProvisionResult;
  try {
    result = await provisioner.apply({ ...input, signal: interrupt.signal }, (event) => progressLine(ctx, event));
  } catch (error) {
    if (made.name) ctx.out.note(`The new credentials are stored as '${made.name}'; a re-run uses them and makes no other key.`);
    if (interrupt.signal.aborted) return interrupted(ctx, error);
    throw error;
  } finally {
    interrupt.dispose();
  }
  return { plan, result, credentials: made.name ?? (earlier ? expected : null) };
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
  return confirmOrYes(ctx, flags.yes || flags.confirm === false, question, what);
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

function showRemovalPlan(ctx: CommandContext, plan: RemovalStep[]): void {
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
function progressLine(ctx: CommandContext, event: ProvisionProgress | RemovalProgress): void {
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

/**
 * Deletes the credentials provisioning stored for the pool; while the pool still uses them the server
 * refuses (409), and the user is told the order that works. True when they were deleted.
 */
async function removeStoredCredentials(ctx: CommandContext, client: FerryClient, pool: string, step: RemovalStep): Promise<boolean> {
  try {
    await client.api.deleteCredentials({ params: { name: step.name } });
    progressLine(ctx, { step, status: "done" });
    return true;
  } catch (error) {
    if (isFerryError(error, "not_found")) return false;
    if (!isFerryError(error, "conflict")) throw error;
    ctx.out.note(
      `– ${step.resource} ${step.name}: left alone (${error.message}); remove them with 'ferry work-pool delete ${pool}' then 'ferry credentials delete ${step.name}'`,
    );
    return false;
  }
}

async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (error) {
    if (isFerryError(error, "not_found")) return false;
    throw error;
  }
}
