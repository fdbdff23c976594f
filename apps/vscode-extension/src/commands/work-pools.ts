import * as vscode from "vscode";
import { FerryError, isPushType, type ProviderInfo } from "@ferry/core";
import { Cancelled, orCancel } from "../errors.js";
import { quotaMarkdown } from "../quota-format.js";
import type { Ferry } from "../services.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Create Work Pool: picks a type the server offers and a name. A push type can have its cloud side made
 * by `ferry work-pool create --provision-infra` in a terminal: the CLI loads the provider's client
 * plugin, runs with the user's own cloud credentials from their shell, prints the plan, and asks before
 * it creates anything; for a type without a provisioner it says so and lists the types that have one.
 */
export async function createWorkPool(ferry: Ferry): Promise<void> {
  const { client, connection } = await ferry.connections.client();
  const types = (await client.api.listWorkPoolTypes()).items;
  if (!types.length) throw new FerryError("not_found", `the server at ${connection.apiUrl} offers no work pool types; it loads them from FERRY_PROVIDERS`);
  const type = orCancel(
    await vscode.window.showQuickPick(
      types.map((t) => ({
        label: t.type,
        description: t.managed ? "managed by Ferry" : t.plugin ? `push · ${t.plugin}` : "push",
        detail: t.description,
        info: t,
      })),
      { title: "Ferry: Create Work Pool (1/2): type", placeHolder: "Where the pool's runs run" },
    ),
  ).info;
  const existing = new Set((await client.listAll.listWorkPools()).map((p) => p.name));
  const name = orCancel(
    await vscode.window.showInputBox({
      title: "Ferry: Create Work Pool (2/2): name",
      value: type.managed ? "managed" : type.type.split(":")[0],
      validateInput: (text) =>
        !NAME.test(text.trim()) ? "Use letters, digits, '.', '_' and '-' (at most 63)" : existing.has(text.trim()) ? `'${text.trim()}' already exists` : null,
    }),
  ).trim();

  if (isPushType(type.type) && (await wantsProvisioning(type))) {
    provisionInTerminal(connection.apiUrl, connection.apiKey!, name, type.type);
    return;
  }
  let credentials: string | null = null;
  if (type.credentials_type) credentials = await pickCredentials(ferry, type);
  const pool = await client.api.createWorkPool({ body: { name, type: type.type, ...(credentials ? { credentials } : {}) } });
  await ferry.explorer.refresh();
  void vscode.window.showInformationMessage(`Ferry: created work pool '${pool.name}' (${pool.type}).`);
}

async function wantsProvisioning(type: ProviderInfo): Promise<boolean> {
  const provision = "Provision the cloud side";
  const only = "Create the pool only";
  const picked = orCancel(
    await vscode.window.showQuickPick(
      [
        {
          label: provision,
          detail: `Runs the Ferry CLI in a terminal to make what ${type.type} needs in your cloud account, with ${type.plugin ? `${type.plugin}'s client plugin` : "the provider's client plugin"}; shows the plan and asks first`,
        },
        { label: only, detail: "You give it existing credentials; nothing is made in the cloud" },
      ],
      { title: `Ferry: Create Work Pool: ${type.type}` },
    ),
  ).label;
  return picked === provision;
}

function provisionInTerminal(apiUrl: string, apiKey: string, name: string, type: string): void {
  const cli = vscode.workspace.getConfiguration("ferry").get<string>("cliPath")?.trim() || "ferry";
  // The key goes in the terminal's environment, never on its command line or in its history.
  const terminal = vscode.window.createTerminal({
    name: `Ferry: provision ${name}`,
    env: { FERRY_API_URL: apiUrl, FERRY_API_KEY: apiKey },
    isTransient: true,
  });
  terminal.show();
  terminal.sendText(`${quote(cli)} work-pool create ${quote(name)} --type ${quote(type)} --provision-infra`);
  void vscode.window.showInformationMessage(
    `Ferry: the plan for '${name}' is in the terminal; nothing is made until you confirm there. Refresh the Ferry view when it is done.`,
  );
}

function quote(text: string): string {
  return /^[A-Za-z0-9._/:=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

async function pickCredentials(ferry: Ferry, type: ProviderInfo): Promise<string | null> {
  const { client } = await ferry.connections.client();
  const matching = (await client.listAll.listCredentials()).filter((c) => c.type === type.credentials_type);
  const none = "(none for now)";
  const picked = await vscode.window.showQuickPick([...matching.map((c) => ({ label: c.name, description: c.type })), { label: none, description: "add them later with 'ferry work-pool update'" }], {
    title: `Ferry: Create Work Pool: ${type.credentials_type} credentials`,
    placeHolder: matching.length ? "Credentials the pool submits runs with" : `No ${type.credentials_type} credentials yet: create them with 'ferry credentials create NAME --type ${type.credentials_type}'`,
  });
  if (!picked) throw new Cancelled();
  return picked.label === none ? null : picked.label;
}

/**
 * The quota as a read-only virtual document (`ferry:/quota.md`), so the preview leaves no unsaved
 * editor behind; each "Open Quota" reloads it.
 */
export class QuotaDocument implements vscode.TextDocumentContentProvider {
  static readonly uri = vscode.Uri.from({ scheme: "ferry", path: "/quota.md" });
  private text = "";
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(text: string): void {
    this.text = text;
    this.changed.fire(QuotaDocument.uri);
  }

  provideTextDocumentContent(): string {
    return this.text;
  }
}

/** Open Quota: the workspace's managed-execution usage and limits, as a Markdown preview. */
export async function openQuota(ferry: Ferry, document: QuotaDocument): Promise<void> {
  const { client, connection } = await ferry.connections.client();
  const [workspace, quota] = await Promise.all([client.api.getWorkspace(), client.api.getQuota()]);
  document.set(quotaMarkdown(workspace, quota, connection.apiUrl));
  await vscode.commands.executeCommand("markdown.showPreview", QuotaDocument.uri);
}
