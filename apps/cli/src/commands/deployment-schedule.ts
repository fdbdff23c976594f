import type { Command } from "commander";
import type { ScheduleCreate } from "@ferry/core";
import { parseInteger, confirmedDelete, handler, YES_HELP, JSON_HELP, type CommandEnv } from "./shared.js";

const REF_HELP = "FLOW/NAME or the deployment's id";

interface AddOptions {
  cron?: string;
  interval?: number;
  anchorDate?: string;
  rrule?: string;
  timezone?: string;
  paused?: boolean;
  json?: boolean;
}

/** What a schedule says, in one line: `cron 0 9 * * 1-5 (Europe/Berlin)`. */
export function describeSchedule(s: { cron?: string; interval?: number; rrule?: string; timezone?: string; anchor_date?: string }): string {
  const zone = s.timezone && s.timezone !== "UTC" ? ` (${s.timezone})` : "";
  if (s.cron !== undefined) return `cron ${s.cron}${zone}`;
  if (s.interval !== undefined) return `every ${s.interval} s${s.anchor_date ? ` from ${s.anchor_date}` : ""}`;
  return `rrule ${s.rrule ?? ""}${zone}`;
}

/** `ferry deployment schedule add|ls|pause|resume|rm`: a deployment's schedules, as its API routes them. */
export function registerDeploymentSchedule(deployment: Command, env: CommandEnv): void {
  const schedule = deployment
    .command("schedule")
    .description("a deployment's schedules: cron (with a time zone), interval or RRULE; the server creates their runs ahead");

  schedule
    .command("add")
    .description("add a schedule (one of --cron, --interval, --rrule)")
    .argument("<deployment>", REF_HELP)
    .option("--cron <expression>", "cron expression, e.g. '0 9 * * 1-5'")
    .option("--interval <seconds>", "seconds between runs (at least 10)", parseInteger(10))
    .option("--anchor-date <date-time>", "where an interval counts from (ISO 8601)")
    .option("--rrule <rule>", "an RFC 5545 RRULE, e.g. 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9'")
    .option("--timezone <zone>", "IANA time zone the cron or RRULE is read in (default UTC)")
    .option("--paused", "add it paused")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, ref: string, options: AddOptions) => {
        const body: ScheduleCreate = {};
        if (options.cron !== undefined) body.cron = options.cron;
        if (options.interval !== undefined) body.interval = options.interval;
        if (options.anchorDate !== undefined) body.anchor_date = options.anchorDate;
        if (options.rrule !== undefined) body.rrule = options.rrule;
        if (options.timezone !== undefined) body.timezone = options.timezone;
        if (options.paused) body.active = false;
        const client = await ctx.client();
        const found = await client.resolveDeployment(ref);
        const updated = await client.api.addDeploymentSchedule({ params: { id: found.id }, body });
        const added = updated.schedules[updated.schedules.length - 1]!;
        if (options.json) return ctx.out.json(added);
        ctx.out.success(`Added schedule ${added.id} to ${found.flow_name}/${found.name}: ${describeSchedule(added)}${added.active ? "" : " (paused)"}`);
      }),
    );

  schedule
    .command("ls")
    .description("list a deployment's schedules and their next runs")
    .argument("<deployment>", REF_HELP)
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, ref: string, options: { json?: boolean }) => {
        const client = await ctx.client();
        const found = await client.resolveDeployment(ref);
        const { items } = await client.api.listDeploymentSchedules({ params: { id: found.id } });
        if (options.json) return ctx.out.json(items);
        if (!items.length) return ctx.out.line(`No schedules. Add one with 'ferry deployment schedule add ${found.flow_name}/${found.name} --cron "0 9 * * *" --timezone Europe/Berlin'.`);
        const c = ctx.out.colors;
        ctx.out.table(items, [
          { header: "ID", value: (s) => s.id, shrink: false },
          { header: "SCHEDULE", value: (s) => describeSchedule(s) },
          { header: "STATUS", value: (s) => (!s.active ? c.yellow("paused") : found.paused ? c.yellow("deployment paused") : c.green("active")) },
          { header: "NEXT RUNS", value: (s) => s.next_runs.slice(0, 3).join(", ") || "-" },
        ]);
      }),
    );

  for (const [name, active, verb] of [
    ["pause", false, "Paused"],
    ["resume", true, "Resumed"],
  ] as const) {
    schedule
      .command(name)
      .description(active ? "resume a paused schedule" : "pause a schedule (its runs made ahead that have not started are deleted)")
      .argument("<deployment>", REF_HELP)
      .argument("<schedule-id>", "the schedule's id (or a unique prefix), from 'ferry deployment schedule ls'")
      .option("--json", JSON_HELP)
      .action(
        handler(env, async (ctx, ref: string, scheduleId: string, options: { json?: boolean }) => {
          const client = await ctx.client();
          const found = await client.resolveDeployment(ref);
          const updated = await client.api.updateDeploymentSchedule({ params: { id: found.id, schedule: scheduleId }, body: { active } });
          if (options.json) return ctx.out.json(updated.schedules);
          ctx.out.success(`${verb} schedule ${scheduleId} of ${found.flow_name}/${found.name}`);
        }),
      );
  }

  schedule
    .command("rm")
    .description("remove a schedule (its runs made ahead that have not started are deleted)")
    .argument("<deployment>", REF_HELP)
    .argument("<schedule-id>", "the schedule's id (or a unique prefix)")
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, ref: string, scheduleId: string, options: { yes?: boolean }) => {
        const client = await ctx.client();
        const found = await client.resolveDeployment(ref);
        return confirmedDelete(ctx, options, `Remove schedule ${scheduleId} from ${found.flow_name}/${found.name} (and its runs made ahead)?`, async () => {
          await client.api.deleteDeploymentSchedule({ params: { id: found.id, schedule: scheduleId } });
          ctx.out.success(`Removed schedule ${scheduleId} from ${found.flow_name}/${found.name}`);
        });
      }),
    );
}
