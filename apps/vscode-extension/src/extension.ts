import * as vscode from "vscode";
import { deployFromFile, deployThisFlow } from "./commands/deploy.js";
import { cancelRun, openRunInBrowser, runDeployment, showRunLogs } from "./commands/runs.js";
import { signIn, signOut } from "./commands/sign-in.js";
import { createWorkPool, openQuota, QuotaDocument } from "./commands/work-pools.js";
import { Connections } from "./connection.js";
import { logChannel, showError } from "./errors.js";
import { Explorer } from "./explorer.js";
import { RunLogs, RunTracker } from "./runs.js";
import { restrictedMessage, TRUST_REQUIRED } from "./trust.js";
import type { Ferry } from "./services.js";

/**
 * Activated lazily: by a Ferry command, by opening the Ferry view, or in a workspace with a ferry.yaml
 * (see `activationEvents` and the contributed commands and views in package.json).
 */
export function activate(context: vscode.ExtensionContext): void {
  const connections = new Connections(context.secrets);
  const explorer = new Explorer(connections);
  const logs = new RunLogs(connections);
  const tracker = new RunTracker(connections, logs, () => void explorer.refresh());
  const ferry: Ferry = { context, connections, explorer, logs, tracker };
  const quota = new QuotaDocument();
  context.subscriptions.push(connections, explorer, logs, tracker, logChannel(), vscode.workspace.registerTextDocumentContentProvider("ferry", quota));

  const poolsView = vscode.window.createTreeView("ferry.pools", { treeDataProvider: explorer.pools, showCollapseAll: true });
  const runsView = vscode.window.createTreeView("ferry.runs", { treeDataProvider: explorer.runs });
  context.subscriptions.push(
    poolsView,
    runsView,
    explorer.onDidChange(() => {
      const message = explorer.message() ?? undefined;
      poolsView.message = message;
      poolsView.description = explorer.serverLabel() ?? undefined;
      runsView.message = message;
    }),
  );

  const commands: [string, string, (...args: unknown[]) => Promise<unknown>][] = [
    ["ferry.signIn", "Sign in", () => signIn(ferry)],
    ["ferry.signOut", "Sign out", () => signOut(ferry)],
    ["ferry.deployThisFlow", "Deploy", () => deployThisFlow(ferry)],
    ["ferry.deployFromFile", "Deploy", (uri) => deployFromFile(ferry, uri instanceof vscode.Uri ? uri : undefined)],
    ["ferry.runDeployment", "Run", (arg) => runDeployment(ferry, arg)],
    ["ferry.cancelRun", "Cancel", (arg) => cancelRun(ferry, arg)],
    ["ferry.showRunLogs", "Show logs", (arg) => showRunLogs(ferry, arg)],
    ["ferry.openRunInBrowser", "Open in browser", (arg) => openRunInBrowser(ferry, arg)],
    ["ferry.createWorkPool", "Create work pool", () => createWorkPool(ferry)],
    ["ferry.openQuota", "Open quota", () => openQuota(ferry, quota)],
    ["ferry.refresh", "Refresh", () => explorer.refresh()],
  ];
  for (const [id, what, run] of commands) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        if (TRUST_REQUIRED.has(id) && !vscode.workspace.isTrusted) {
          const manage = "Manage Workspace Trust";
          const picked = await vscode.window.showWarningMessage(restrictedMessage(what), manage);
          if (picked === manage) await vscode.commands.executeCommand("workbench.trust.manage");
          return undefined;
        }
        try {
          return await run(...args);
        } catch (error) {
          await showError(error, what);
          return undefined;
        }
      }),
    );
  }
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void explorer.refresh()));
  void explorer.refresh();
}

export function deactivate(): void {}
