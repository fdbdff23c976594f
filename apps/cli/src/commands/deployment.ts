import type { Command } from "commander";
import { flowRunUiUrl, type FlowRunCreate } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { relativeTime, sourceLabel, stateLabel } from "../format.js";
import { collect, keyValues } from "../key-value.js";
import { registerDeploymentSchedule } from "./deployment-schedule.js";
import { followAndPrint } from "./run-events.js";
import { handler, JSON_HELP, LIMIT_HELP, parseInteger, type CommandEnv } from "./shared.js";

const REF_HELP = "FLOW/NAME or the deployment's id";

interface RunOptions {
  param?: string[];
  jobVariable?: string[];
  idempotencyKey?: string;
  watch?: boolean;
  json?: boolean;
}

export function registerDeployment(program: Command, env: CommandEnv): void {
  const deployment = program.command("deployment").description("deployments: a flow, its source and its pool, ready to run");

  deployment
    .command("ls")
    .description("list deployments")
    .option("--pool <name>", "only those of this work pool")
    .option("--flow <name>", "only those of this flow")
    .option("--search <words>", "only those with each word in their flow/name, pool or tags")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { pool?: string; flow?: string; search?: string; limit?: number; json?: boolean }) => {
        const query: { work_pool?: string; flow_name?: string; search?: string } = {};
        if (options.pool) query.work_pool = options.pool;
        if (options.flow) query.flow_name = options.flow;
        if (options.search) query.search = options.search;
        const items = await (await ctx.client()).listAll.listDeployments({ query }, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        if (!items.length) return ctx.out.line("No deployments. Create them with 'ferry deploy'.");
        const now = new Date();
        const c = ctx.out.colors;
        ctx.out.table(items, [
          { header: "DEPLOYMENT", value: (d) => `${d.flow_name}/${d.name}` },
          { header: "POOL", value: (d) => d.work_pool },
          { header: "ENTRYPOINT", value: (d) => d.entrypoint },
          { header: "SOURCE", value: (d) => sourceLabel(d.source) },
          { header: "STATUS", value: (d) => (d.paused ? c.yellow("paused") : c.green("ready")) },
          { header: "SCHEDULES", value: (d) => (d.schedules.length ? `${d.schedules.filter((s) => s.active).length}/${d.schedules.length} active` : "-") },
          { header: "UPDATED", value: (d) => relativeTime(d.updated_at, now) },
        ]);
      }),
    );

  deployment
    .command("inspect")
    .description("show a deployment")
    .argument("<deployment>", REF_HELP)
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, ref: string, options: { json?: boolean }) => {
        const found = await (await ctx.client()).resolveDeployment(ref);
        return options.json ? ctx.out.json(found) : ctx.out.details(found);
      }),
    );

  deployment
    .command("delete")
    .description("delete a deployment (its runs are kept)")
    .argument("<deployment>", REF_HELP)
    .action(
      handler(env, async (ctx, ref: string) => {
        const client = await ctx.client();
        const found = await client.resolveDeployment(ref);
        await client.api.deleteDeployment({ params: { id: found.id } });
        ctx.out.success(`Deleted deployment ${found.flow_name}/${found.name}`);
      }),
    );

  deployment
    .command("run")
    .description("start a run of a deployment")
    .argument("<deployment>", REF_HELP)
    .option("--param <key=value>", "parameter, value as JSON or text (repeatable)", collect)
    .option("--job-variable <key=value>", "job variable for this run, value as JSON or text (repeatable)", collect)
    .option("--idempotency-key <key>", "the same key within 24 hours returns the same run instead of starting another (refused if its parameters differ)")
    .option("--watch", "follow the run's states and logs until it ends; exit 0 only if it COMPLETED")
    .option("--json", "print the API's answer ({flow_run, created}); with --watch, the final flow run")
    .action(handler(env, runDeployment));

  registerDeploymentSchedule(deployment, env);
}

async function runDeployment(ctx: CommandContext, ref: string, options: RunOptions): Promise<number | void> {
  const body: FlowRunCreate = {};
  if (options.param?.length) body.parameters = keyValues(options.param, "--param");
  if (options.jobVariable?.length) body.job_variables = keyValues(options.jobVariable, "--job-variable");
  if (options.idempotencyKey !== undefined) body.idempotency_key = options.idempotencyKey;
  const client = await ctx.client();
  const found = await client.resolveDeployment(ref);
  const result = await client.api.createFlowRun({ params: { id: found.id }, body });
  const run = result.flow_run;
  const { out } = ctx;

  if (!options.watch) {
    if (options.json) return out.json(result);
    if (result.created) out.success(`Created flow run '${run.name}' (${run.id}) of ${run.flow_name}/${run.deployment_name}: ${stateLabel(run.state, out.colors)}`);
    else out.line(`A run with idempotency key '${options.idempotencyKey}' exists already: '${run.name}' (${run.id}), ${stateLabel(run.state, out.colors)}`);
    out.line(`View it at ${flowRunUiUrl(client.apiUrl, run.id)}`);
    out.note(`Follow it with 'ferry flow-run logs ${run.id} --follow'; cancel it with 'ferry flow-run cancel ${run.id}'.`);
    return;
  }

  if (!options.json) {
    out.line(`${result.created ? "Created" : "Following the existing"} flow run '${run.name}' (${run.id}) of ${run.flow_name}/${run.deployment_name}`);
    out.line(`View it at ${flowRunUiUrl(client.apiUrl, run.id)}`);
  }
  const { run: final, interrupted } = await followAndPrint(ctx, client, run.id, { print: options.json ? "none" : "all" });
  if (interrupted) {
    out.note(`Stopped following; the run goes on. Cancel it with 'ferry flow-run cancel ${run.id}'.`);
    if (options.json) out.json(final);
    return ExitCode.interrupted;
  }
  if (options.json) out.json(final);
  else out.line(`Flow run '${final.name}' ended ${stateLabel(final.state, out.colors)}${final.state.message ? `: ${final.state.message}` : ""}`);
  return final.state.type === "COMPLETED" ? ExitCode.ok : ExitCode.failure;
}
