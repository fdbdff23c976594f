import * as vscode from "vscode";
import type { Deployment, FlowRun, WorkPool } from "@ferry/core";
import { clientFor, type Connections } from "./connection.js";
import { logChannel } from "./errors.js";
import { hasActiveRuns, poolNodes, runNodes, type DeploymentNode, type FerryNode, type PoolNode, type RunNode } from "./tree-model.js";

interface Snapshot {
  pools: WorkPool[];
  deployments: Deployment[];
  runs: FlowRun[];
  loadedAt: Date;
}

function treeItem(node: FerryNode, collapsible: vscode.TreeItemCollapsibleState): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label, collapsible);
  item.id = node.id;
  item.description = node.description;
  item.tooltip = node.tooltip;
  item.contextValue = node.contextValue;
  item.iconPath = new vscode.ThemeIcon(node.icon.id, new vscode.ThemeColor(node.icon.color));
  if (node.kind === "run") item.command = { command: "ferry.showRunLogs", title: "Show Run Logs", arguments: [node] };
  return item;
}

/**
 * The Ferry view's data: work pools with their deployments, and recent runs. Loaded when a view is
 * first shown, on "Refresh", after the extension's own actions, and every few seconds while a run it
 * shows is still going.
 */
export class Explorer implements vscode.Disposable {
  private snapshot: Snapshot | null = null;
  private problem: string | null = null;
  private server: string | null = null;
  private loading: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  readonly pools: PoolsView;
  readonly runs: RunsView;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly connections: Connections) {
    this.pools = new PoolsView(this);
    this.runs = new RunsView(this);
    this.disposables.push(connections.onDidChange(() => void this.refresh()));
  }

  data(): Snapshot | null {
    return this.snapshot;
  }

  /** Why the last load failed, for the views' message; null when it worked. */
  message(): string | null {
    return this.problem;
  }

  /** Which server the view shows and where that came from, e.g. `127.0.0.1:4200 · profile 'local'`. */
  serverLabel(): string | null {
    return this.server;
  }

  /** Loads once if nothing is loaded yet. */
  ensureLoaded(): Promise<void> {
    if (this.snapshot || this.problem) return Promise.resolve();
    return this.refresh();
  }

  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const limit = Math.max(1, Math.min(200, vscode.workspace.getConfiguration("ferry").get<number>("recentRuns") ?? 20));
    try {
      const connection = await this.connections.current();
      this.server = connection ? `${new URL(connection.apiUrl).host} · ${connection.urlSource}` : null;
      await vscode.commands.executeCommand("setContext", "ferry.signedIn", Boolean(connection?.apiKey));
      if (!connection?.apiKey) {
        this.snapshot = null;
        this.problem = null;
        this.schedule(false);
        this.changed.fire();
        return;
      }
      const client = clientFor(connection);
      const [pools, deployments, runs] = await Promise.all([
        client.listAll.listWorkPools(),
        client.listAll.listDeployments(),
        client.api.listFlowRuns({ query: { limit } }),
      ]);
      this.snapshot = { pools, deployments, runs: runs.items, loadedAt: new Date() };
      this.problem = null;
    } catch (error) {
      this.problem = `Could not load from the Ferry server: ${error instanceof Error ? error.message : String(error)}`;
      logChannel().warn(this.problem);
    }
    this.schedule(Boolean(this.snapshot && hasActiveRuns(this.snapshot.runs)));
    this.changed.fire();
  }

  private schedule(active: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!active) return;
    const seconds = Math.max(1, vscode.workspace.getConfiguration("ferry").get<number>("refreshSeconds") ?? 2);
    this.timer = setTimeout(() => void this.refresh(), seconds * 1000);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

export class PoolsView implements vscode.TreeDataProvider<PoolNode | DeploymentNode> {
  readonly onDidChangeTreeData: vscode.Event<void>;
  constructor(private readonly explorer: Explorer) {
    this.onDidChangeTreeData = explorer.onDidChange;
  }

  getTreeItem(node: PoolNode | DeploymentNode): vscode.TreeItem {
    if (node.kind === "pool") {
      // Always expandable: an item keeps the collapsible state it first had, so a pool shown before its
      // first deployment would otherwise never open.
      return treeItem(node, vscode.TreeItemCollapsibleState.Expanded);
    }
    return treeItem(node, vscode.TreeItemCollapsibleState.None);
  }

  async getChildren(node?: PoolNode | DeploymentNode): Promise<(PoolNode | DeploymentNode)[]> {
    if (node) return node.kind === "pool" ? node.children : [];
    await this.explorer.ensureLoaded();
    const data = this.explorer.data();
    return data ? poolNodes(data.pools, data.deployments, data.runs) : [];
  }
}

export class RunsView implements vscode.TreeDataProvider<RunNode> {
  readonly onDidChangeTreeData: vscode.Event<void>;
  constructor(private readonly explorer: Explorer) {
    this.onDidChangeTreeData = explorer.onDidChange;
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    return treeItem(node, vscode.TreeItemCollapsibleState.None);
  }

  async getChildren(node?: RunNode): Promise<RunNode[]> {
    if (node) return [];
    await this.explorer.ensureLoaded();
    const data = this.explorer.data();
    return data ? runNodes(data.runs, new Date()) : [];
  }
}
