import type { Command } from "commander";
import { FerryError, flowRunUiUrl, isStateType, isUuid, STATE_TYPES, type FlowRun, type FlowRunListQuery, type LogLine } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { formatDuration, relativeTime, stateLabel } from "../format.js";
import { withSpinner } from "../spinner.js";
import { followAndPrint, renderLogLine } from "./run-events.js";
import { handler, JSON_HELP, parseInteger, type CommandEnv } from "./shared.js";

interface ListOptions {
  deployment?: string;
  pool?: string;
  state?: string;
  limit: number;
  all?: boolean;
  json?: boolean;
}

const PAGE = 200;

/** What every command taking a run accepts; resolved by `FerryClient.resolveFlowRun`. */
export const RUN_REF_HELP = "the run's id, a unique prefix of it (4+ characters), or DEPLOYMENT/RUN_NAME";

export function registerFlowRun(program: Command, env: CommandEnv): void {
  const flowRun = program
    .command("flow-run")
    .alias("run")
    .description("flow runs: follow, inspect, cancel and re-run them ('ferry run' is the same group)");

  flowRun
    .command("ls")
    .description("list flow runs, newest first")
    .option("--deployment <deployment>", "only runs of this deployment (FLOW/NAME or id)")
    .option("--pool <name>", "only runs in this work pool")
    .option("--state <types>", `only runs in these states, comma-separated (${STATE_TYPES.join(", ")})`)
    .option("--limit <n>", "how many runs to show", parseInteger(1), 20)
    .option("--all", "every matching run, page after page (instead of --limit)")
    .option("--json", "print the flow runs as a JSON array")
    .action(handler(env, listRuns));

  flowRun
    .command("inspect")
    .description("show a flow run and every state it went through")
    .argument("<run>", RUN_REF_HELP)
    .option("--json", "print {flow_run, history} as JSON")
    .action(
      handler(env, async (ctx, ref: string, options: { json?: boolean }) => {
        const client = await ctx.client();
        const run = await client.resolveFlowRun(ref);
        const history = await client.api.getFlowRunHistory({ params: { id: run.id } });
        if (options.json) return ctx.out.json({ flow_run: run, history: history.items });
        ctx.out.details(run);
        ctx.out.line(`View it at ${flowRunUiUrl(client.apiUrl, run.id)}`);
        ctx.out.line("");
        ctx.out.line(ctx.out.colors.bold("State history"));
        ctx.out.table(history.items, [
          { header: "TIME", value: (s) => s.timestamp },
          { header: "TYPE", value: (s) => s.type },
          { header: "STATE", value: (s) => stateLabel(s, ctx.out.colors) },
          { header: "MESSAGE", value: (s) => s.message ?? "" },
        ]);
      }),
    );

  flowRun
    .command("logs")
    .description("print a flow run's logs")
    .argument("<run>", RUN_REF_HELP)
    .option("-f, --follow", "keep printing new lines until the run ends")
    .option("--json", "print the log lines as a JSON array; with --follow, one JSON object per line")
    .action(handler(env, showLogs));

  flowRun
    .command("cancel")
    .description("cancel a flow run: at once if it never started, else through CANCELLING while its infrastructure stops")
    .argument("<run>", RUN_REF_HELP)
    .option("--reason <text>", "why, kept in the run's history")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, ref: string, options: { reason?: string; json?: boolean }) => {
        const client = await ctx.client();
        const { id } = await client.resolveFlowRun(ref);
        const run = await client.api.cancelFlowRun({ params: { id }, body: options.reason ? { reason: options.reason } : {} });
        if (options.json) return ctx.out.json(run);
        ctx.out.success(`Flow run '${run.name}' is ${stateLabel(run.state, ctx.out.colors)}`);
        if (run.state.type === "CANCELLING") ctx.out.note(`Its infrastructure is being stopped; follow it with 'ferry flow-run logs ${run.id} --follow'.`);
      }),
    );

  flowRun
    .command("retry")
    .description("re-run a finished flow run as a new run, with its parameters, job variables and source commit")
    .argument("<run>", RUN_REF_HELP)
    .option("--json", "print {flow_run, created} as JSON")
    .action(
      handler(env, async (ctx, ref: string, options: { json?: boolean }) => {
        const client = await ctx.client();
        // A whole id goes straight to the retry (one request); a prefix or a name is looked up first.
        const id = isUuid(ref) ? ref : (await client.resolveFlowRun(ref)).id;
        const result = await client.api.retryFlowRun({ params: { id } });
        if (options.json) return ctx.out.json(result);
        const run = result.flow_run;
        ctx.out.success(`Created flow run '${run.name}' (${run.id}), a re-run of ${id}${run.source_commit ? ` at commit ${run.source_commit.slice(0, 12)}` : ""}`);
        ctx.out.note(`Follow it with 'ferry flow-run logs ${run.id} --follow', or open ${flowRunUiUrl(client.apiUrl, run.id)}`);
      }),
    );
}

async function listRuns(ctx: CommandContext, options: ListOptions): Promise<void> {
  const client = await ctx.client();
  const query: Partial<FlowRunListQuery> = {};
  if (options.deployment) query.deployment_id = (await client.resolveDeployment(options.deployment)).id;
  if (options.pool) query.work_pool = options.pool;
  if (options.state) {
    const states = options.state.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
    const bad = states.filter((s) => !isStateType(s));
    if (bad.length) throw new FerryError("validation_failed", `--state: ${bad.join(", ")} ${bad.length === 1 ? "is not a state" : "are not states"}; use ${STATE_TYPES.join(", ")}`);
    query.state = states.join(",");
  }
  const runs: FlowRun[] = [];
  let cursor: string | null = null;
  let more = false;
  await withSpinner(ctx, "Reading the flow runs", async () => {
    do {
      const want = options.all ? PAGE : Math.min(options.limit - runs.length, 1000);
      const page = await client.api.listFlowRuns({ query: { ...query, limit: want, ...(cursor ? { cursor } : {}) } });
      runs.push(...page.items);
      cursor = page.next_cursor;
      more = cursor !== null;
    } while (cursor !== null && (options.all || runs.length < options.limit));
  });

  if (options.json) return ctx.out.json(runs);
  if (!runs.length) return ctx.out.line("No flow runs match.");
  const now = new Date();
  ctx.out.table(runs, [
    { header: "ID", value: (r) => r.id, shrink: false },
    { header: "NAME", value: (r) => r.name },
    { header: "DEPLOYMENT", value: (r) => `${r.flow_name}/${r.deployment_name}` },
    { header: "POOL", value: (r) => r.work_pool },
    { header: "STATE", value: (r) => stateLabel(r.state, ctx.out.colors) },
    { header: "CREATED", value: (r) => relativeTime(r.created_at, now) },
    { header: "DURATION", value: (r) => runDuration(r, now) },
  ]);
  if (more && !options.all) ctx.out.note(`Showing the newest ${runs.length}; more match (--limit N or --all).`);
}

function runDuration(run: FlowRun, now: Date): string {
  if (!run.start_time) return "";
  const end = run.end_time ? new Date(run.end_time) : now;
  return formatDuration((end.getTime() - new Date(run.start_time).getTime()) / 1000);
}

async function showLogs(ctx: CommandContext, ref: string, options: { follow?: boolean; json?: boolean }): Promise<number | void> {
  const client = await ctx.client();
  const { id } = await client.resolveFlowRun(ref);
  const lines: LogLine[] = [];
  let cursor: string | null = null;
  do {
    const page = await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000, ...(cursor ? { cursor } : {}) } });
    if (options.json && options.follow) for (const l of page.items) ctx.io.stdout.write(`${JSON.stringify(l)}\n`);
    else if (!options.json) for (const l of page.items) ctx.out.line(renderLogLine(l, ctx.out.colors));
    lines.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== null);
  if (!options.follow) {
    if (options.json) return ctx.out.json(lines);
    if (!lines.length) ctx.out.note("No log lines yet.");
    return;
  }
  const last = lines.at(-1);
  const { run, interrupted } = await followAndPrint(ctx, client, id, {
    print: "logs",
    jsonLines: options.json,
    seen: new Set(lines.map((l) => l.id)),
    ...(last ? { lastEventId: last.id } : {}),
  });
  if (!interrupted && !options.json) ctx.out.note(`The run ended ${run.state.name}.`);
  return interrupted ? ExitCode.interrupted : undefined;
}
