import * as vscode from "vscode";
import { isFerryError } from "@ferry/core";
import { urlProblem } from "../connection.js";
import { orCancel } from "../errors.js";
import type { Ferry } from "../services.js";

const DEFAULT_URL = "http://127.0.0.1:4200";

/**
 * Asks for the server URL and an API key, checks them against the server, and keeps the key in VS
 * Code's SecretStorage (the OS keychain where there is one). A wrong key is asked for again rather
 * than saved.
 */
export async function signIn(ferry: Ferry): Promise<void> {
  const current = await ferry.connections.current();
  const apiUrl = orCancel(
    await vscode.window.showInputBox({
      title: "Ferry: Sign In (1/2)",
      prompt: "The Ferry server's URL",
      value: current?.apiUrl ?? DEFAULT_URL,
      ignoreFocusOut: true,
      validateInput: (text) => urlProblem(text),
    }),
  ).trim();

  let problem: string | undefined;
  for (;;) {
    const apiKey = orCancel(
      await vscode.window.showInputBox({
        title: "Ferry: Sign In (2/2)",
        prompt: problem ?? `An API key of your workspace on ${apiUrl} (make one with 'ferry api-key create NAME')`,
        password: true,
        ignoreFocusOut: true,
        placeHolder: "fy_…",
        validateInput: (text) => (text.trim() ? null : "Paste an API key"),
      }),
    ).trim();
    let workspace: string;
    try {
      workspace = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Ferry: checking the key with ${apiUrl}…` },
        () => ferry.connections.verify(apiUrl, apiKey),
      );
    } catch (error) {
      if (isFerryError(error, "unauthenticated")) {
        problem = `${apiUrl} did not accept that key; paste a valid API key`;
        continue;
      }
      throw error;
    }
    await ferry.connections.signIn(apiUrl, apiKey);
    await ferry.explorer.refresh();
    void vscode.window.showInformationMessage(`Ferry: signed in to workspace '${workspace}' on ${apiUrl}.`);
    return;
  }
}

export async function signOut(ferry: Ferry): Promise<void> {
  const connection = await ferry.connections.signOut();
  await ferry.explorer.refresh();
  const still = await ferry.connections.current();
  const note = still?.apiKey ? ` A key from ${still.keySource} is still used; remove it there to sign out fully.` : "";
  void vscode.window.showInformationMessage(`Ferry: forgot the key for ${connection?.apiUrl ?? "the server"}.${note}`);
}
