import type { Quota, Workspace } from "@ferry/core";

function hours(seconds: number): string {
  return (seconds / 3600).toFixed(seconds < 360 ? 2 : 1);
}

function bar(used: number, limit: number): string {
  if (!Number.isFinite(limit) || limit <= 0) return "";
  const share = Math.min(1, used / limit);
  const filled = Math.round(share * 20);
  return `${"█".repeat(filled)}${"░".repeat(20 - filled)} ${Math.round(share * 100)}%`;
}

function limitText(n: number): string {
  return Number.isFinite(n) ? String(n) : "unlimited";
}

/** The workspace's managed-execution usage against its tier, as the Markdown "Ferry: Open Quota" shows. */
export function quotaMarkdown(workspace: Workspace, quota: Quota, apiUrl: string): string {
  const l = quota.limits;
  const u = quota.usage;
  const overrides = Object.keys(workspace.limits_override);
  const rows: [string, string, string, string][] = [
    ["Managed work pools", String(u.managed_pools), limitText(l.managed_pools), bar(u.managed_pools, l.managed_pools)],
    ["Concurrent managed runs", String(u.concurrent_managed_runs), limitText(l.concurrent_managed_runs), bar(u.concurrent_managed_runs, l.concurrent_managed_runs)],
    ["Queued managed runs", String(u.queued_managed_runs), "—", ""],
    [
      "Compute hours this month",
      hours(u.compute_seconds),
      limitText(l.compute_hours_per_month),
      bar(u.compute_seconds / 3600, l.compute_hours_per_month),
    ],
  ];
  return [
    `# Ferry quota: ${workspace.name}`,
    "",
    `Tier **${quota.tier}**${overrides.length ? ` (with operator overrides of ${overrides.join(", ")})` : ""} on ${apiUrl}. The month began ${quota.period_start.slice(0, 10)}.`,
    "",
    "| | Used | Limit | |",
    "|---|---:|---:|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    "Every managed run also gets:",
    "",
    `- memory: ${l.memory_mib} MiB, hard (no swap)`,
    `- CPUs: ${l.cpus}`,
    `- run time: at most ${hours(l.max_runtime_seconds)} h, then it ends CRASHED (TimedOut)`,
    "",
    "When the month's compute hours are spent, new managed runs are refused and queued ones cancelled until the next month.",
    "",
  ].join("\n");
}
