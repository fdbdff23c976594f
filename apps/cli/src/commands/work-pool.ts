import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { FerryError, type BaseJobTemplate, type WorkPool, type WorkPoolUpdate } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { relativeTime } from "../format.js";
import { renderJson } from "../output.js";
import { loadProvisioning } from "../provisioning.js";
import { confirmFlags, createWithProvisioning, ProvisioningFlags, registerProvisioning, type CreateFlags } from "./provision.js";
import { withSpinner } from "../spinner.js";
import { confirmedDelete, handler, YES_HELP, isObject, JSON_HELP, LIMIT_HELP, parseInteger, readDocument, type CommandEnv } from "./shared.js";

interface PoolOptions {
  description?: string;
  concurrencyLimit?: number | null;
  baseJobTemplate?: string;
  credentials?: string | null;
  json?: boolean;
}

export function registerWorkPool(program: Command, env: CommandEnv): void {
  const pool = program.command("work-pool").description("work pools: where a deployment's runs execute");
  const provisioning = new ProvisioningFlags(env);
  provisioning.install(pool);

  confirmFlags(
    pool
      .command("create")
      .description("create a work pool; with --provision-infra, first make its cloud side (push types whose provider has a client plugin)")
      .argument("<name>", "lowercase letters, digits and dashes")
      .requiredOption("--type <type>", "pool type, e.g. ferry:managed (Ferry runs the flows) or a push type the server offers")
      .option("--description <text>", "what the pool is for")
      .option("--concurrency-limit <n>", "most runs of this pool at once", parseInteger(0))
      .option("--base-job-template <file>", "job template (JSON or YAML); start from 'ferry work-pool get-default-base-job-template'")
      .option("--paused", "create it paused: runs wait until 'ferry work-pool resume'")
      .option("--credentials <name>", "credentials the pool's provider uses (push pools)")
      .option(
        "--provision-infra",
        "make the pool's cloud resources first with your own cloud identity, and fill the template's defaults; the pool is created only if that succeeds (types whose provider has a client plugin; its options are flags, see --provision-infra --help)",
      )
      .option("--json", JSON_HELP),
  ).action(
    handler(env, async (ctx, name: string, options: PoolOptions & CreateFlags & { paused?: boolean; provisionInfra?: boolean } & Record<string, unknown>) => {
      if (options.provisionInfra) {
        const template = options.baseJobTemplate ? await readTemplate(ctx, options.baseJobTemplate) : null;
        return createWithProvisioning(ctx, provisioning.setup(), name, options, template);
      }
      const client = await ctx.client();
      const body = {
          name,
          type: options.type,
          ...(options.description !== undefined ? { description: options.description } : {}),
          ...(options.concurrencyLimit !== undefined ? { concurrency_limit: options.concurrencyLimit } : {}),
          ...(options.baseJobTemplate ? { base_job_template: await readTemplate(ctx, options.baseJobTemplate) } : {}),
          ...(options.paused ? { paused: true } : {}),
          ...(options.credentials ? { credentials: options.credentials } : {}),
      };
      const created = await withSpinner(ctx, `Creating work pool '${name}'`, () => client.api.createWorkPool({ body }));
      if (options.json) return ctx.out.json(created);
      ctx.out.success(`Created work pool '${created.name}' (${created.type})${created.paused ? ", paused" : ""}`);
      ctx.out.note(`Deploy to it with 'work_pool: { name: ${created.name} }' in ferry.yaml, or 'ferry deploy --pool ${created.name} ...'.`);
    }),
  );

  pool
    .command("ls")
    .description("list work pools")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { limit?: number; json?: boolean }) => {
        const client = await ctx.client();
        const items = await client.listAll.listWorkPools(undefined, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        if (!items.length) return ctx.out.line("No work pools yet. Create one with 'ferry work-pool create NAME --type ferry:managed'.");
        // Managed pools share the workspace's tier: show its usage beside them.
        const quota = items.some((p) => p.type.endsWith(":managed")) ? await client.api.getQuota() : null;
        const now = new Date();
        const c = ctx.out.colors;
        ctx.out.table(items, [
          { header: "NAME", value: (p) => p.name },
          { header: "TYPE", value: (p) => p.type },
          { header: "STATUS", value: (p) => (p.paused ? c.yellow("paused") : c.green("ready")) },
          { header: "CONCURRENCY", value: (p) => p.concurrency_limit ?? "unlimited" },
          {
            header: "TIER USAGE",
            value: (p) =>
              quota && p.type.endsWith(":managed")
                ? `${quota.usage.concurrent_managed_runs}/${quota.limits.concurrent_managed_runs} runs, ${(quota.usage.compute_seconds / 3600).toFixed(2)}/${quota.limits.compute_hours_per_month} h (${quota.tier})`
                : "",
          },
          { header: "CREDENTIALS", value: (p) => p.credentials ?? "" },
          { header: "CREATED", value: (p) => relativeTime(p.created_at, now) },
        ]);
      }),
    );

  pool
    .command("inspect")
    .description("show a work pool with its job template")
    .argument("<name>")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { json?: boolean }) => {
        const found = await (await ctx.client()).api.getWorkPool({ params: { name } });
        return options.json ? ctx.out.json(found) : ctx.out.details(found);
      }),
    );

  pool
    .command("update")
    .description("change a work pool's description, concurrency limit, job template or credentials")
    .argument("<name>")
    .option("--description <text>", "new description ('' clears it)")
    .option("--concurrency-limit <n>", "most runs at once, or 'none' for no limit", parseLimit)
    .option("--base-job-template <file>", "new job template (JSON or YAML)")
    .option("--credentials <name>", "credentials to use, or 'none' to detach them", (v: string) => (v === "none" ? null : v))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: PoolOptions) => {
        const body: WorkPoolUpdate = {};
        if (options.description !== undefined) body.description = options.description === "" ? null : options.description;
        if (options.concurrencyLimit !== undefined) body.concurrency_limit = options.concurrencyLimit;
        if (options.baseJobTemplate) body.base_job_template = await readTemplate(ctx, options.baseJobTemplate);
        if (options.credentials !== undefined) body.credentials = options.credentials;
        if (!Object.keys(body).length) {
          throw new FerryError("validation_failed", "nothing to change: give --description, --concurrency-limit, --base-job-template or --credentials");
        }
        const updated = await (await ctx.client()).api.updateWorkPool({ params: { name }, body });
        if (options.json) return ctx.out.json(updated);
        ctx.out.success(`Updated work pool '${updated.name}'`);
      }),
    );

  pool
    .command("delete")
    .description("delete a work pool that no deployment uses")
    .argument("<name>")
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { yes?: boolean }) =>
        confirmedDelete(ctx, options, `Delete work pool '${name}'?`, async () => {
          await (await ctx.client()).api.deleteWorkPool({ params: { name } });
          ctx.out.success(`Deleted work pool '${name}'`);
        }),
      ),
    );

  for (const [command, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    pool
      .command(command)
      .description(paused ? "pause a pool: new runs wait, running ones go on" : "resume a paused pool: waiting runs start")
      .argument("<name>")
      .option("--json", JSON_HELP)
      .action(
        handler(env, async (ctx, name: string, options: { json?: boolean }) => {
          const updated: WorkPool = await (await ctx.client()).api.updateWorkPool({ params: { name }, body: { paused } });
          if (options.json) return ctx.out.json(updated);
          ctx.out.success(`Work pool '${name}' ${paused ? "paused" : "resumed"}`);
        }),
      );
  }

  registerProvisioning(pool, env, provisioning);

  pool
    .command("types")
    .description("the pool types the server offers: the plugin each comes from, its credentials type, and whether this CLI can provision its cloud side")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { json?: boolean }) => {
        const { plugins, poolTypes } = await loadProvisioning(ctx);
        const provisionable = new Set(plugins.provisionableTypes());
        const rows = poolTypes.map((t) => ({
          type: t.type,
          managed: t.managed,
          plugin: t.plugin,
          credentials_type: t.credentials_type,
          can_provision: provisionable.has(t.type),
          description: t.description,
        }));
        if (options.json) return ctx.out.json(rows);
        ctx.out.table(rows, [
          { header: "TYPE", value: (r) => r.type },
          { header: "KIND", value: (r) => (r.managed ? "managed" : "push") },
          { header: "PLUGIN", value: (r) => r.plugin ?? "built in" },
          { header: "CREDENTIALS", value: (r) => r.credentials_type ?? "" },
          { header: "PROVISION", value: (r) => (r.managed ? "" : r.can_provision ? "--provision-infra" : "no client plugin here") },
          { header: "DESCRIPTION", value: (r) => r.description },
        ]);
        if (!rows.some((r) => !r.managed)) ctx.out.note("No push pool types: the server loads them from the provider plugins named in its FERRY_PROVIDERS.");
      }),
    );

  pool
    .command("get-default-base-job-template")
    .description("print a pool type's default job template, a starting point for --base-job-template")
    .requiredOption("--type <type>", "pool type, e.g. ferry:managed")
    .option("--file <path>", "write it to a file instead of stdout")
    .option("--json", "the template is printed as JSON in any case; accepted like every read's --json")
    .action(
      handler(env, async (ctx, options: { type: string; file?: string }) => {
        const { items } = await (await ctx.client()).api.listWorkPoolTypes();
        const found = items.find((t) => t.type === options.type);
        if (!found) {
          throw new FerryError("not_found", `work pool type '${options.type}' is not available on this server; types: ${items.map((t) => t.type).join(", ")}`);
        }
        const text = renderJson(found.default_base_job_template);
        if (!options.file) return ctx.io.stdout.write(text);
        await writeFile(resolve(ctx.io.cwd, options.file), text);
        ctx.out.success(`Wrote the ${options.type} template to ${options.file}`);
      }),
    );
}

function parseLimit(value: string): number | null {
  if (value === "none") return null;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a whole number or 'none'.`);
  return Number(value);
}

async function readTemplate(ctx: CommandContext, path: string): Promise<BaseJobTemplate> {
  const doc = await readDocument(ctx.io, path, "the base job template");
  if (!isObject(doc)) throw new FerryError("validation_failed", `the base job template in ${path} must be an object with 'variables' and 'job_configuration'`);
  return doc as unknown as BaseJobTemplate;
}
