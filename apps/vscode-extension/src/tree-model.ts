import { defaultStateName, isTerminal, type Deployment, type FlowRun, type StateType, type WorkPool } from "@ferry/core";

/**
 * What the Ferry view shows, as plain data: the editor glue turns these into TreeItems. Kept free of
 * the `vscode` module so it can be tested without an editor.
 */
export interface StateIcon {
  /** A codicon id, e.g. `pass-filled`. */
  id: string;
  /** A theme colour id, e.g. `testing.iconPassed`. */
  color: string;
}

/** Context values: `package.json` menus use them to put actions on the right items. */
export type ContextValue = "pool" | "pool.paused" | "deployment" | "run.active" | "run.final";

/** What every item of the view has. */
interface NodeBase {
  /** Stable across refreshes, so the tree keeps selection and expansion. */
  id: string;
  label: string;
  description: string;
  tooltip: string;
  icon: StateIcon;
  contextValue: ContextValue;
}

export interface PoolNode extends NodeBase {
  kind: "pool";
  pool: WorkPool;
  children: DeploymentNode[];
}

export interface DeploymentNode extends NodeBase {
  kind: "deployment";
  deployment: Deployment;
  /** Its latest run among those loaded, if any. */
  lastRun: FlowRun | null;
}

export interface RunNode extends NodeBase {
  kind: "run";
  run: FlowRun;
}

export type FerryNode = PoolNode | DeploymentNode | RunNode;

const STATE_ICONS: Record<StateType, StateIcon> = {
  SCHEDULED: { id: "clock", color: "charts.blue" },
  PENDING: { id: "loading~spin", color: "charts.yellow" },
  RUNNING: { id: "sync~spin", color: "charts.blue" },
  COMPLETED: { id: "pass-filled", color: "testing.iconPassed" },
  FAILED: { id: "error", color: "testing.iconFailed" },
  CRASHED: { id: "flame", color: "testing.iconErrored" },
  CANCELLING: { id: "circle-slash", color: "charts.orange" },
  CANCELLED: { id: "circle-slash", color: "disabledForeground" },
};

export function stateIcon(type: StateType): StateIcon {
  return STATE_ICONS[type];
}

/** `COMPLETED`, or `CRASHED (TimedOut)` when the state has a name of its own. */
export function stateLabel(state: { type: StateType; name: string }): string {
  return state.name === defaultStateName(state.type) ? state.type : `${state.type} (${state.name})`;
}

export function isActive(run: FlowRun): boolean {
  return !isTerminal(run.state.type);
}

/** Whether the view should keep refreshing: some run it shows has not ended. */
export function hasActiveRuns(runs: readonly FlowRun[]): boolean {
  return runs.some(isActive);
}

/** `5s ago`, `3m ago`, `2h ago`, `4d ago`; a time in the future (clock skew) is `just now`. */
export function ago(iso: string, now: Date): string {
  const seconds = Math.floor((now.getTime() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds) || seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

/** `1m 05s`, `42s`, `2h 03m`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** How long a run has taken, or took: from its start (or creation) to its end (or now). */
export function runDuration(run: FlowRun, now: Date): number {
  const start = Date.parse(run.start_time ?? run.created_at);
  const end = run.end_time ? Date.parse(run.end_time) : now.getTime();
  return Math.max(0, (end - start) / 1000);
}

function latestRuns(runs: readonly FlowRun[]): Map<string, FlowRun> {
  const latest = new Map<string, FlowRun>();
  for (const run of runs) {
    const seen = latest.get(run.deployment_id);
    if (!seen || run.created_at > seen.created_at) latest.set(run.deployment_id, run);
  }
  return latest;
}

/** Work pools by name, each with its deployments by `flow/name`; deployments show their latest run's state. */
export function poolNodes(pools: readonly WorkPool[], deployments: readonly Deployment[], runs: readonly FlowRun[] = []): PoolNode[] {
  const latest = latestRuns(runs);
  const byPool = new Map<string, Deployment[]>();
  for (const d of deployments) {
    const list = byPool.get(d.work_pool) ?? [];
    list.push(d);
    byPool.set(d.work_pool, list);
  }
  return [...pools]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((pool) => {
      const children = (byPool.get(pool.name) ?? [])
        .sort((a, b) => `${a.flow_name}/${a.name}`.localeCompare(`${b.flow_name}/${b.name}`))
        .map((d) => deploymentNode(d, latest.get(d.id) ?? null));
      const count = `${children.length} deployment${children.length === 1 ? "" : "s"}`;
      const tooltip = [
        `${pool.name} (${pool.type})`,
        pool.description,
        pool.paused ? "Paused: new runs wait until it is resumed." : null,
        pool.concurrency_limit !== null ? `At most ${pool.concurrency_limit} runs at a time.` : null,
        pool.credentials ? `Credentials: ${pool.credentials}` : null,
      ]
        .filter(Boolean)
        .join("\n");
      return {
        kind: "pool" as const,
        id: `pool:${pool.id}`,
        label: pool.name,
        description: `${pool.type} · ${count}${pool.paused ? " · paused" : ""}`,
        tooltip,
        icon: pool.paused ? { id: "debug-pause", color: "disabledForeground" } : { id: "server-environment", color: "foreground" },
        contextValue: pool.paused ? ("pool.paused" as const) : ("pool" as const),
        pool,
        children,
      };
    });
}

function deploymentNode(d: Deployment, lastRun: FlowRun | null): DeploymentNode {
  const source = d.source.commit ? `${d.source.git_url} @ ${d.source.commit.slice(0, 7)}` : `${d.source.git_url}${d.source.branch ? ` (${d.source.branch})` : ""}`;
  return {
    kind: "deployment",
    id: `deployment:${d.id}`,
    label: `${d.flow_name}/${d.name}`,
    description: lastRun ? stateLabel(lastRun.state) : d.paused ? "paused" : "",
    tooltip: [`${d.flow_name}/${d.name}`, d.description, `Entrypoint: ${d.entrypoint}`, `Source: ${source}`, d.tags.length ? `Tags: ${d.tags.join(", ")}` : null]
      .filter(Boolean)
      .join("\n"),
    icon: lastRun ? stateIcon(lastRun.state.type) : { id: "rocket", color: "foreground" },
    contextValue: "deployment",
    deployment: d,
    lastRun,
  };
}

/** Recent runs, newest first: `flow/deployment · run-name` with the state and when. */
export function runNodes(runs: readonly FlowRun[], now: Date): RunNode[] {
  return [...runs]
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
    .map((run) => {
      const active = isActive(run);
      const took = duration(runDuration(run, now));
      return {
        kind: "run" as const,
        id: `run:${run.id}`,
        label: `${run.flow_name}/${run.deployment_name}`,
        description: `${stateLabel(run.state)} · ${active ? `for ${took}` : `${ago(run.end_time ?? run.updated_at, now)}, took ${took}`} · ${run.name}`,
        tooltip: [
          `${run.flow_name}/${run.deployment_name} — ${run.name}`,
          `State: ${stateLabel(run.state)}${run.state.message ? `: ${run.state.message}` : ""}`,
          `Work pool: ${run.work_pool} (${run.work_pool_type})`,
          `Created: ${run.created_at}`,
          `Id: ${run.id}`,
        ].join("\n"),
        icon: stateIcon(run.state.type),
        contextValue: active ? ("run.active" as const) : ("run.final" as const),
        run,
      };
    });
}
