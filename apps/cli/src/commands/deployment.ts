import { Option, type Command } from "commander";
import { flowRunUiUrl, type FlowRun, type FlowRunCreate } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { formatDuration, relativeTime, sourceLabel, stateLabel } from "../format.js";
import { parseDateTime, parseDuration } from "../duration.js";
import { collect, keyValues } from "../key-value.js";
import { registerDeploymentSchedule } from "./deployment-schedule.js";
import { withSpinner } from "../spinner.js";
import { followAndPrint } from "./run-events.js";
import { confirmedDelete, handler, YES_HELP, JSON_HELP, LIMIT_HELP, parseInteger, type CommandEnv } from "./shared.js";

const REF_HELP = "FLOW/NAME or the deployment's id";

interface RunOptions {
  param?: string[];
  jobVariable?: string[];
  tag?: string[];
  name?: string;
  startIn?: number;
  startAt?: string;
  idempotencyKey?: string;
  watch?: boolean;
  timeout?: number;
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
        const client = await ctx.client();
        const items = await withSpinner(ctx, "Reading the deployments", () => client.listAll.listDeployments({ query }, { max: options.limit }));
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
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, ref: string, options: { yes?: boolean }) => {
        const client = await ctx.client();
        const found = await client.resolveDeployment(ref);
        return confirmedDelete(ctx, options, `Delete deployment ${found.flow_name}/${found.name}? Its runs are kept.`, async () => {
          await client.api.deleteDeployment({ params: { id: found.id } });
          ctx.out.success(`Deleted deployment ${found.flow_name}/${found.name}`);
        });
      }),
    );

  deployment
    .command("run")
    .description("start a run of a deployment")
    .argument("<deployment>", REF_HELP)
    .option("--param <key=value>", "parameter, value as JSON or text (repeatable)", collect)
    .option("--job-variable <key=value>", "job variable for this run, value as JSON or text (repeatable)", collect)
    .option("--tag <tag>", "tag of this run, besides the deployment's (repeatable)", collect)
    .option("--name <name>", "the run's name (default: the deployment's name and a random suffix)")
    .addOption(new Option("--start-in <duration>", "start no sooner than this from now, e.g. 10m, 1h30m (the run waits SCHEDULED)").argParser(parseDuration).conflicts("startAt"))
    .addOption(new Option("--start-at <time>", "start no sooner than this ISO 8601 time, e.g. 2026-01-01T09:00:00Z").argParser(parseDateTime))
    .option("--idempotency-key <key>", "the same key within 24 hours returns the same run instead of starting another (refused if its parameters differ)")
    .option("--watch", "follow the run's states and logs until it ends; exit 0 only if it COMPLETED")
    .option("--timeout <duration>", "with --watch (implied): stop waiting after this long, e.g. 30m, and exit 1; the run goes on", parseDuration)
    .option("--json", "print the API's answer ({flow_run, created}); with --watch, the final flow run")
    .action(handler(env, runDeployment));

  registerDeploymentSchedule(deployment, env);
}

async function runDeployment(ctx: CommandContext, ref: string, options: RunOptions): Promise<number | void> {
  const body: FlowRunCreate = {};
  if (options.param?.length) body.parameters = keyValues(options.param, "--param");
  if (options.jobVariable?.length) body.job_variables = keyValues(options.jobVariable, "--job-variable");
  if (options.idempotencyKey !== undefined) body.idempotency_key = options.idempotencyKey;
  if (options.tag?.length) body.tags = options.tag;
  if (options.name !== undefined) body.name = options.name;
  if (options.startIn !== undefined) body.scheduled_start_time = new Date(Date.now() + options.startIn * 1000).toISOString();
  if (options.startAt !== undefined) body.scheduled_start_time = options.startAt;
  const watch = options.watch || options.timeout !== undefined;
  const client = await ctx.client();
  const found = await client.resolveDeployment(ref);
  // A push pool's run is submitted to its cloud before the answer comes back.
  const result = await withSpinner(ctx, `Starting a run of ${found.flow_name}/${found.name}`, () => client.api.createFlowRun({ params: { id: found.id }, body }));
  const run = result.flow_run;
  const { out } = ctx;

  if (!watch) {
    if (options.json) return out.json(result);
    if (result.created) out.success(`Created flow run '${run.name}' (${run.id}) of ${run.flow_name}/${run.deployment_name}: ${stateLabel(run.state, out.colors)}${startsAt(run)}`);
    else out.line(`A run with idempotency key '${options.idempotencyKey}' exists already: '${run.name}' (${run.id}), ${stateLabel(run.state, out.colors)}`);
    out.line(`View it at ${flowRunUiUrl(client.apiUrl, run.id)}`);
    out.note(`Follow it with 'ferry flow-run logs ${run.id} --follow'; cancel it with 'ferry flow-run cancel ${run.id}'.`);
    return;
  }

  if (!options.json) {
    out.line(`${result.created ? "Created" : "Following the existing"} flow run '${run.name}' (${run.id}) of ${run.flow_name}/${run.deployment_name}`);
    out.line(`View it at ${flowRunUiUrl(client.apiUrl, run.id)}`);
  }
  const { run: final, interrupted, timedOut } = await followAndPrint(ctx, client, run.id, {
    print: options.json ? "none" : "all",
    ...(options.timeout !== undefined ? { timeoutSeconds: options.timeout } : {}),
  });
  if (interrupted || timedOut) {
    const why = timedOut ? `Waited ${formatDuration(options.timeout)}: the run is ${final.state.name}. Stopped following` : "Stopped following";
    out.note(`${why}; the run goes on. Follow it with 'ferry flow-run logs ${run.id} --follow', cancel it with 'ferry flow-run cancel ${run.id}'.`);
    if (options.json) out.json(final);
    return interrupted ? ExitCode.interrupted : ExitCode.failure;
  }
  if (options.json) out.json(final);
  else out.line(`Flow run '${final.name}' ended ${stateLabel(final.state, out.colors)}${final.state.message ? `: ${final.state.message}` : ""}`);
  return final.state.type === "COMPLETED" ? ExitCode.ok : ExitCode.failure;
}

/** ", starts at …" for a run created to start later. */
function startsAt(run: FlowRun): string {
  if (!run.expected_start_time || Date.parse(run.expected_start_time) <= Date.now()) return "";
  return `, starts at ${run.expected_start_time}`;
}
