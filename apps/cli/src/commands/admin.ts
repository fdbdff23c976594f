import type { Command } from "commander";
import { FerryError, TIER_NAMES, type FerryClient, type TierLimits, type TierName, type Workspace } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { relativeTime } from "../format.js";
import { handler, JSON_HELP, LIMIT_HELP, parseInteger, parseNumber, type CommandEnv } from "./shared.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface SetLimitsOptions {
  tier?: TierName;
  managedPools?: number;
  concurrentManagedRuns?: number;
  computeHoursPerMonth?: number;
  memoryMib?: number;
  maxRuntimeSeconds?: number;
  cpus?: number;
  reset?: boolean;
  json?: boolean;
}

const LIMIT_OPTIONS: [keyof SetLimitsOptions, keyof TierLimits][] = [
  ["managedPools", "managed_pools"],
  ["concurrentManagedRuns", "concurrent_managed_runs"],
  ["computeHoursPerMonth", "compute_hours_per_month"],
  ["memoryMib", "memory_mib"],
  ["maxRuntimeSeconds", "max_runtime_seconds"],
  ["cpus", "cpus"],
];

function parseTier(value: string): TierName {
  if (!(TIER_NAMES as string[]).includes(value)) throw new FerryError("validation_failed", `--tier must be one of ${TIER_NAMES.join(", ")}`);
  return value as TierName;
}

export function registerAdmin(program: Command, env: CommandEnv): void {
  const admin = program.command("admin").description("operator commands, authenticated with the server's admin token");
  const workspace = admin.command("workspace").description("workspaces, their tiers and limits");

  workspace
    .command("create")
    .description("create a workspace; its first API key is printed this once")
    .argument("<name>")
    .option("--tier <tier>", `${TIER_NAMES.join(" or ")} (default free)`, parseTier)
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { tier?: TierName; json?: boolean }) => {
        const client = await ctx.adminClient();
        const created = await client.api.adminCreateWorkspace({ body: { name, ...(options.tier ? { tier: options.tier } : {}) } });
        if (options.json) return ctx.out.json(created);
        const { out } = ctx;
        out.success(`Created workspace '${created.workspace.name}' (${created.workspace.id}), ${created.workspace.tier} tier. Its first API key:`);
        out.line("");
        out.line(`    ${out.colors.bold(created.api_key.key)}`);
        out.line("");
        out.line(out.colors.yellow("Store it now: it is shown only this once."));
        out.note(`Use it with: ferry profile set ${created.workspace.name} --api-url ${client.apiUrl} --api-key-stdin`);
      }),
    );

  workspace
    .command("ls")
    .description("list workspaces")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { limit?: number; json?: boolean }) => {
        const items = await (await ctx.adminClient()).listAll.adminListWorkspaces(undefined, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        const now = new Date();
        ctx.out.table(items, [
          { header: "ID", value: (w) => w.id, shrink: false },
          { header: "NAME", value: (w) => w.name },
          { header: "TIER", value: (w) => w.tier },
          { header: "CUSTOM LIMITS", value: (w) => Object.entries(w.limits_override).map(([k, v]) => `${k}=${v}`).join(", ") },
          { header: "CREATED", value: (w) => relativeTime(w.created_at, now) },
        ]);
      }),
    );

  workspace
    .command("set-limits")
    .description("change a workspace's tier, or set limits of its own on top of the tier's")
    .argument("<workspace>", "workspace id or name")
    .option("--tier <tier>", TIER_NAMES.join(" or "), parseTier)
    .option("--managed-pools <n>", "managed work pools", parseInteger(0))
    .option("--concurrent-managed-runs <n>", "managed runs at once", parseInteger(0))
    .option("--compute-hours-per-month <n>", "managed compute hours a month", parseNumber)
    .option("--memory-mib <n>", "memory of a managed run (at most 2048)", parseInteger(0))
    .option("--max-runtime-seconds <n>", "longest a managed run may last (at most 86400)", parseInteger(0))
    .option("--cpus <n>", "CPU cores of a managed run", parseNumber)
    .option("--reset", "drop the custom limits: the tier's apply again")
    .option("--json", JSON_HELP)
    .action(handler(env, setLimits));
}

async function setLimits(ctx: CommandContext, ref: string, options: SetLimitsOptions): Promise<void> {
  const limits: Partial<TierLimits> = {};
  for (const [option, key] of LIMIT_OPTIONS) {
    const value = options[option];
    if (typeof value === "number") limits[key] = value;
  }
  const hasLimits = Object.keys(limits).length > 0;
  if (options.reset && hasLimits) throw new FerryError("validation_failed", "--reset drops custom limits; give it without limit options");
  if (!options.tier && !hasLimits && !options.reset) {
    throw new FerryError("validation_failed", "nothing to change: give --tier, --reset or a limit such as --concurrent-managed-runs 3");
  }
  const client = await ctx.adminClient();
  const id = await resolveWorkspace(client, ref);
  const updated = await client.api.adminUpdateWorkspace({
    params: { id },
    body: {
      ...(options.tier ? { tier: options.tier } : {}),
      ...(options.reset ? { limits: null } : hasLimits ? { limits } : {}),
    },
  });
  if (options.json) return ctx.out.json(updated);
  ctx.out.success(`Workspace '${updated.name}' (${updated.tier} tier) now has these limits:`);
  ctx.out.details(updated.limits);
}

async function resolveWorkspace(client: FerryClient, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const items = await client.listAll.adminListWorkspaces();
  const matches = items.filter((w: Workspace) => w.name === ref);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length > 1) throw new FerryError("validation_failed", `${matches.length} workspaces are named '${ref}'; give the id (ferry admin workspace ls)`);
  throw new FerryError("not_found", `workspace '${ref}' was not found; list them with 'ferry admin workspace ls'`);
}
