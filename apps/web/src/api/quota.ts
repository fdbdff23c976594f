import { useQuery } from "@tanstack/react-query";
import type { Quota } from "@ferry/core/browser";
import { api } from "./client.js";
import { keys } from "./keys.js";

export function useQuota() {
  return useQuery({ queryKey: keys.quota(), queryFn: () => api.getQuota(), refetchInterval: 30_000 });
}

export function useQuotaUsage(days = 30) {
  return useQuery({ queryKey: keys.quotaUsage(days), queryFn: async () => (await api.getQuotaUsage({ query: { days } })).items });
}

/**
 * "used / limit" as the quota page shows it; hours with two decimals, trailing zeros dropped, except
 * that a use too small for two decimals keeps two significant digits: a few seconds of compute must not
 * read as none.
 */
export function usedOfLimit(used: number, limit: number): string {
  return `${formatNumber(used)} / ${formatNumber(limit)}`;
}

export function formatNumber(value: number): string {
  if (value > 0 && value < 0.005) return String(Number(value.toPrecision(2)));
  return String(Math.round(value * 100) / 100);
}

export function quotaFigures(quota: Quota) {
  return {
    computeHours: usedOfLimit(quota.usage.compute_seconds / 3600, quota.limits.compute_hours_per_month),
    concurrentRuns: usedOfLimit(quota.usage.concurrent_managed_runs, quota.limits.concurrent_managed_runs),
    pools: usedOfLimit(quota.usage.managed_pools, quota.limits.managed_pools),
  };
}
