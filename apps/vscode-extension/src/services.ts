import type * as vscode from "vscode";
import type { Connections } from "./connection.js";
import type { Explorer } from "./explorer.js";
import type { RunLogs, RunTracker } from "./runs.js";

/** What the commands share; made once on activation. */
export interface Ferry {
  context: vscode.ExtensionContext;
  connections: Connections;
  explorer: Explorer;
  logs: RunLogs;
  tracker: RunTracker;
}
