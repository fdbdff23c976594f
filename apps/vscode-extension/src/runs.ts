import * as vscode from "vscode";
import { isTerminal, type FlowRun } from "@ferry/core";
import type { Connections } from "./connection.js";
import { logChannel } from "./errors.js";
import { followWhileOpen } from "./follow.js";
import { endMessage, formatEvent, RUN_ACTIONS, runHeader, runPageUrl } from "./run-format.js";
import { stateIcon, stateLabel } from "./tree-model.js";

/**
 * "Ferry Run Logs": one output channel that follows one run at a time — its states and log lines from
 * the start, then live until the run ends. Showing another run replaces what it follows.
 */
export class RunLogs implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel("Ferry Run Logs");
  private following: AbortController | null = null;
  private runId: string | null = null;

  constructor(private readonly connections: Connections) {}

  async show(run: FlowRun, options: { preserveFocus?: boolean } = {}): Promise<void> {
    this.channel.show(options.preserveFocus ?? true);
    if (this.runId === run.id && this.following && !this.following.signal.aborted) return;
    this.following?.abort();
    const controller = new AbortController();
    this.following = controller;
    this.runId = run.id;
    this.channel.clear();
    for (const line of runHeader(run)) this.channel.appendLine(line);
    const { client } = await this.connections.client();
    void (async () => {
      try {
        const onRetry = (error: unknown, delayMs: number) =>
          this.channel.appendLine(`(lost the server: ${error instanceof Error ? error.message : String(error)}; reconnecting in ${Math.round(delayMs / 1000)} s)`);
        for await (const event of followWhileOpen(client, run.id, { signal: controller.signal, onRetry })) {
          if (controller.signal.aborted) return;
          this.channel.appendLine(formatEvent(event));
        }
        if (!controller.signal.aborted) {
          const final = await client.api.getFlowRun({ params: { id: run.id } });
          this.channel.appendLine("");
          this.channel.appendLine(`Run ${final.name} ended ${stateLabel(final.state)}.`);
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        this.channel.appendLine(`(stopped following: ${message})`);
        logChannel().warn(`following the logs of ${run.id}: ${message}`);
      }
    })();
  }

  dispose(): void {
    this.following?.abort();
    this.channel.dispose();
  }
}

/**
 * Runs the user started from the editor: the status bar shows the latest one's state (click: its
 * logs), and a notification says when each ends. States arrive over the run's event stream.
 */
export class RunTracker implements vscode.Disposable {
  private readonly status = vscode.window.createStatusBarItem("ferry.run", vscode.StatusBarAlignment.Left, 10);
  private readonly watching = new Map<string, AbortController>();
  private latest: FlowRun | null = null;

  constructor(
    private readonly connections: Connections,
    private readonly logs: RunLogs,
    /** Called on every state change, so the views refresh. */
    private readonly onStateChange: () => void,
  ) {
    this.status.name = "Ferry run";
  }

  track(run: FlowRun): void {
    this.update(run);
    if (isTerminal(run.state.type) || this.watching.has(run.id)) return;
    const controller = new AbortController();
    this.watching.set(run.id, controller);
    void this.follow(run, controller).finally(() => this.watching.delete(run.id));
  }

  private async follow(run: FlowRun, controller: AbortController): Promise<void> {
    let current = run;
    try {
      const { client } = await this.connections.client();
      for await (const event of followWhileOpen(client, run.id, { signal: controller.signal })) {
        if (event.kind !== "state") continue;
        current = { ...current, state: event.state };
        this.update(current);
        this.onStateChange();
        if (isTerminal(event.state.type)) break;
      }
      if (controller.signal.aborted) return;
      current = await client.api.getFlowRun({ params: { id: run.id } });
    } catch (error) {
      if (controller.signal.aborted) return;
      logChannel().warn(`following ${run.id}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.update(current);
    this.onStateChange();
    const { text, severity } = endMessage(current);
    const show = severity === "info" ? vscode.window.showInformationMessage : severity === "warning" ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    const picked = await show(text, RUN_ACTIONS.logs, RUN_ACTIONS.browser);
    if (picked === RUN_ACTIONS.logs) await this.logs.show(current, { preserveFocus: false });
    if (picked === RUN_ACTIONS.browser) {
      const { client } = await this.connections.client();
      await vscode.env.openExternal(vscode.Uri.parse(runPageUrl(client.apiUrl, current)));
    }
  }

  private update(run: FlowRun): void {
    if (this.latest && this.latest.id !== run.id && run.created_at < this.latest.created_at) return;
    this.latest = run;
    const icon = stateIcon(run.state.type);
    this.status.text = `$(${icon.id}) ${run.flow_name}/${run.deployment_name}: ${stateLabel(run.state)}`;
    this.status.tooltip = `Ferry run ${run.name}${run.state.message ? `\n${run.state.message}` : ""}\nClick to show its logs.`;
    this.status.command = { command: "ferry.showRunLogs", title: "Show Run Logs", arguments: [run] };
    this.status.show();
  }

  dispose(): void {
    for (const c of this.watching.values()) c.abort();
    this.status.dispose();
  }
}
