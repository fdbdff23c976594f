import * as vscode from "vscode";
import { FerryClient, FerryError } from "@ferry/core";
import { ferryHome, readProfiles, resolveSettings } from "@ferry/client-node";

/** Where the extension sends requests, and where that came from (for messages and the status tooltip). */
export interface Connection {
  apiUrl: string;
  apiKey: string | null;
  /** `settings`, `profile 'local'`, `FERRY_API_URL`. */
  urlSource: string;
  keySource: "signed in" | "profile" | "FERRY_API_KEY" | null;
}

const SECRET_PREFIX = "ferry.apiKey:";
const USER_AGENT = "ferry-vscode";

export function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

/** Checks a server URL typed by the user; returns the problem, or null when it is fine. */
export function urlProblem(text: string): string | null {
  const value = text.trim();
  if (!value) return "Enter the server's URL, e.g. http://127.0.0.1:4200";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "Not a URL: write it with its scheme, e.g. http://127.0.0.1:4200";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "The URL must start with http:// or https://";
  if (url.username || url.password) return "Leave credentials out of the URL: the API key is asked for next";
  return null;
}

/**
 * Resolves the server and key the way the CLI does — settings act like the CLI's flags, then
 * FERRY_API_URL / FERRY_PROFILE, then the CLI's profiles file — except that a key saved by
 * "Ferry: Sign In" (in VS Code's SecretStorage, per server URL) comes first. Keys never go in settings.
 */
export class Connections implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("ferry.apiUrl") || e.affectsConfiguration("ferry.profile") || e.affectsConfiguration("ferry.home")) this.changed.fire();
      }),
      secrets.onDidChange((e) => {
        if (e.key.startsWith(SECRET_PREFIX)) this.changed.fire();
      }),
    );
  }

  private home(): string {
    const configured = vscode.workspace.getConfiguration("ferry").get<string>("home")?.trim();
    return configured || ferryHome(process.env);
  }

  /** The current connection, or null when no server URL is known anywhere. */
  async current(): Promise<Connection | null> {
    const config = vscode.workspace.getConfiguration("ferry");
    const settingUrl = config.get<string>("apiUrl")?.trim() || undefined;
    const settingProfile = config.get<string>("profile")?.trim() || undefined;
    const home = this.home();
    const file = await readProfiles(`${home}/profiles.json`);
    const resolved = resolveSettings({ apiUrl: settingUrl, profile: settingProfile }, process.env, file, home);
    if (!resolved.apiUrl) return null;
    const apiUrl = normalizeUrl(resolved.apiUrl);
    const saved = await this.secrets.get(SECRET_PREFIX + apiUrl);
    const urlSource =
      resolved.sources.apiUrl === "flag" ? "settings" : resolved.sources.apiUrl === "env" ? "FERRY_API_URL" : `profile '${resolved.profileName}'`;
    let apiKey: string | null = saved ?? null;
    let keySource: Connection["keySource"] = saved ? "signed in" : null;
    if (!apiKey && resolved.apiKey && resolved.sources.apiKey !== "flag") {
      apiKey = resolved.apiKey;
      keySource = resolved.sources.apiKey === "env" ? "FERRY_API_KEY" : "profile";
    }
    return { apiUrl, apiKey, urlSource, keySource };
  }

  /** A client for the current connection; without a server or key, an error whose fix is "Sign In". */
  async client(): Promise<{ client: FerryClient; connection: Connection }> {
    const connection = await this.current();
    const client = clientFor(connection); // throws NotSignedIn when there is no connection
    return { client, connection: connection as Connection };
  }

  /** Checks a URL and key against the server: the workspace name on success. */
  async verify(apiUrl: string, apiKey: string): Promise<string> {
    const client = new FerryClient({ apiUrl: normalizeUrl(apiUrl), apiKey, userAgent: USER_AGENT, timeoutMs: 10_000 });
    const workspace = await client.api.getWorkspace();
    return workspace.name;
  }

  /** Saves the key for the URL, and the URL in the user's settings unless it already resolves to it. */
  async signIn(apiUrl: string, apiKey: string): Promise<void> {
    const url = normalizeUrl(apiUrl);
    const before = await this.current();
    await this.secrets.store(SECRET_PREFIX + url, apiKey);
    if (before?.apiUrl !== url) await vscode.workspace.getConfiguration("ferry").update("apiUrl", url, vscode.ConfigurationTarget.Global);
    this.changed.fire();
  }

  /** Forgets the key saved for the current server (a profile's key stays in the CLI's file). */
  async signOut(): Promise<Connection | null> {
    const connection = await this.current();
    if (connection) await this.secrets.delete(SECRET_PREFIX + connection.apiUrl);
    this.changed.fire();
    return connection;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** A client for a resolved connection; without a server or key, an error whose fix is "Sign In". */
export function clientFor(connection: Connection | null): FerryClient {
  if (!connection) throw new NotSignedIn("No Ferry server is set up");
  if (!connection.apiKey) throw new NotSignedIn(`No API key for ${connection.apiUrl}`);
  return new FerryClient({ apiUrl: connection.apiUrl, apiKey: connection.apiKey, userAgent: USER_AGENT });
}

/** Raised when a command needs a server or key the user has not given: shown with a "Sign In" button. */
export class NotSignedIn extends FerryError {
  constructor(message: string) {
    super("unauthenticated", `${message}: run 'Ferry: Sign In', or set up a profile with 'ferry profile set'`);
  }
}
