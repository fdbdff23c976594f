/**
 * The one query-key factory: every TanStack Query key the UI uses comes from here, so an invalidation
 * after a change reaches every view of the same data.
 */
export const keys = {
  session: () => ["session"] as const,
  workspace: () => ["workspace"] as const,
  quota: () => ["quota"] as const,
  quotaUsage: (days: number) => ["quota", "usage", days] as const,
  poolTypes: () => ["work-pool-types"] as const,
  pools: () => ["work-pools"] as const,
  /** Keys of list pages hold an object, so no name or id (a string) can collide with them. */
  poolsPages: () => ["work-pools", { pages: true }] as const,
  pool: (name: string) => ["work-pools", name] as const,
  credentialTypes: () => ["credential-types"] as const,
  credentials: () => ["credentials"] as const,
  credentialsPages: () => ["credentials", { pages: true }] as const,
  deployments: () => ["deployments"] as const,
  deploymentsPages: (filter: { search?: string; pool?: string }) => ["deployments", { pages: true, ...filter }] as const,
  deployment: (id: string) => ["deployments", id] as const,
  deploymentSchedules: (id: string) => ["deployments", id, "schedules"] as const,
  runs: (filter: Record<string, unknown>) => ["flow-runs", "list", filter] as const,
  /** Every list of runs (each filter's), for live updates from the workspace's event stream. */
  runsLists: () => ["flow-runs", "list"] as const,
  runsAll: () => ["flow-runs"] as const,
  run: (id: string) => ["flow-runs", id] as const,
  runHistory: (id: string) => ["flow-runs", id, "history"] as const,
  variables: () => ["variables"] as const,
  secrets: () => ["secrets"] as const,
  apiKeys: () => ["api-keys"] as const,
  apiKeysPages: () => ["api-keys", { pages: true }] as const,
};
