import type { Command } from "commander";
import type { Quota } from "@ferry/core";
import type { Colors } from "../output.js";
import { handler, JSON_HELP, type CommandEnv } from "./shared.js";

export function registerQuota(program: Command, env: CommandEnv): void {
  program
    .command("quota")
    .description("managed-execution usage of the workspace against its tier's limits")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { json?: boolean }) => {
        const quota = await (await ctx.client()).api.getQuota();
        if (options.json) return ctx.out.json(quota);
        ctx.out.line(`Tier: ${ctx.out.colors.bold(quota.tier)}   (month from ${quota.period_start.slice(0, 10)}, UTC)`);
        ctx.out.table(quotaRows(quota, ctx.out.colors), [
          { header: "LIMIT", value: (r) => r.name },
          { header: "USED", value: (r) => r.used },
          { header: "OF", value: (r) => r.limit },
          { header: "", value: (r) => r.bar },
        ]);
      }),
    );
}

export function quotaRows(quota: Quota, colors: Colors): { name: string; used: string; limit: string; bar: string }[] {
  const hours = quota.usage.compute_seconds / 3600;
  const rows = [
    { name: "managed work pools", used: quota.usage.managed_pools, limit: quota.limits.managed_pools, text: String(quota.usage.managed_pools) },
    {
      name: "concurrent managed runs",
      used: quota.usage.concurrent_managed_runs,
      limit: quota.limits.concurrent_managed_runs,
      text: `${quota.usage.concurrent_managed_runs}${quota.usage.queued_managed_runs ? ` (+${quota.usage.queued_managed_runs} waiting)` : ""}`,
    },
    { name: "compute hours this month", used: hours, limit: quota.limits.compute_hours_per_month, text: hours.toFixed(2) },
  ];
  return rows.map((r) => ({ name: r.name, used: r.text, limit: String(r.limit), bar: usageBar(r.used, r.limit, colors) }));
}

function usageBar(used: number, limit: number, colors: Colors): string {
  const width = 20;
  const ratio = limit > 0 ? Math.min(used / limit, 1) : 1;
  const filled = Math.round(ratio * width);
  const paint = ratio >= 1 ? colors.red : ratio >= 0.8 ? colors.yellow : colors.green;
  return `${paint("█".repeat(filled))}${colors.dim("░".repeat(width - filled))} ${Math.round(ratio * 100)}%`;
}
