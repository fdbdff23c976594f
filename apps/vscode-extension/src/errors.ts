import * as vscode from "vscode";
import { isFerryError } from "@ferry/core";

/** The extension's own log (never given keys): "Ferry" in the Output panel. */
let log: vscode.LogOutputChannel | null = null;
export function logChannel(): vscode.LogOutputChannel {
  log ??= vscode.window.createOutputChannel("Ferry", { log: true });
  return log;
}

/** A user pressed Escape in a prompt: the command stops quietly. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
  }
}

export function orCancel<T>(value: T | undefined): T {
  if (value === undefined) throw new Cancelled();
  return value;
}

interface Action {
  title: string;
  run: () => unknown;
}

function actionsFor(error: unknown): Action[] {
  const open = (query: string) => () => vscode.commands.executeCommand("workbench.action.openSettings", query);
  if (!isFerryError(error)) return [{ title: "Show Log", run: () => logChannel().show() }];
  switch (error.code) {
    case "unauthenticated":
    case "forbidden":
      return [
        { title: "Sign In", run: () => vscode.commands.executeCommand("ferry.signIn") },
        { title: "Open Settings", run: open("ferry.") },
      ];
    case "network":
    case "unavailable":
      return [
        { title: "Open Settings", run: open("ferry.apiUrl") },
        { title: "Sign In", run: () => vscode.commands.executeCommand("ferry.signIn") },
      ];
    case "quota_exceeded":
      return [{ title: "Open Quota", run: () => vscode.commands.executeCommand("ferry.openQuota") }];
    default:
      return [];
  }
}

/**
 * Shows a failed command's error with the fix it names and a button where one helps ("Sign In",
 * "Open Settings"). Escape in a prompt is not an error.
 */
export async function showError(error: unknown, what: string): Promise<void> {
  if (error instanceof Cancelled) return;
  const message = error instanceof Error ? error.message : String(error);
  logChannel().error(`${what}: ${message}`);
  const actions = actionsFor(error);
  const picked = await vscode.window.showErrorMessage(`Ferry: ${what} failed: ${message}`, ...actions.map((a) => a.title));
  await actions.find((a) => a.title === picked)?.run();
}
