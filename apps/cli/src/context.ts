import { checkApiUrl, FerryClient, FerryError, type ProviderInfo } from "@ferry/core";
import type { Io } from "./io.js";
import { Output } from "./output.js";
import { ferryHome, profilesPath, readProfiles, resolveSettings, type ClientPlugins, type GlobalOptions, type Settings } from "@ferry/client-node";
import { loadClientPlugins } from "./provisioning.js";
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;

/** What every command action gets: the streams, the parsed global options, and a client made on demand. */
export class CommandContext {
  readonly out: Output;
  /** Which secret the last client was made with, so an authentication failure can say where it came from. */
  usedAuth: "api-key" | "admin-token" | null = null;
  private settingsPromise: Promise<Settings> | undefined;
  private poolTypesPromise: Promise<ProviderInfo[]> | undefined;
  private pluginsPromise: Promise<ClientPlugins> | undefined;

  constructor(
    readonly io: Io,
    readonly globals: GlobalOptions,
  ) {
    this.out = new Output(io);
  }

  get home(): string {
    return ferryHome(this.io.env);
  }

  settings(): Promise<Settings> {
    this.settingsPromise ??= (async () => {
      const home = this.home;
      const file = await readProfiles(profilesPath(home));
      return resolveSettings(this.globals, this.io.env, file, home);
    })();
    return this.settingsPromise;
  }

  /** The server's pool types, asked once per command. */
  poolTypes(): Promise<ProviderInfo[]> {
    this.poolTypesPromise ??= (async () => (await (await this.client()).api.listWorkPoolTypes()).items)();
    return this.poolTypesPromise;
  }

  /**
   * The providers' client plugins (provisioners, registry logins), loaded once per command and only by
   * the commands that provision or push an image: other commands never import a plugin. `poolTypes`
   * defaults to the server's.
   */
  clientPlugins(poolTypes?: readonly ProviderInfo[]): Promise<ClientPlugins> {
    this.pluginsPromise ??= (async () => loadClientPlugins(this, poolTypes ?? (await this.poolTypes())))();
    return this.pluginsPromise;
  }

  /** A client authenticated with the workspace API key. */
  async client(): Promise<FerryClient> {
    const s = await this.settings();
    const apiUrl = requireUrl(s);
    if (!s.apiKey) {
      throw new FerryError(
        "unauthenticated",
        `no API key for ${apiUrl}; set FERRY_API_KEY, or save one in a profile with 'ferry profile set ${s.profileName ?? "NAME"} --api-key-stdin'`,
      );
    }
    this.usedAuth = "api-key";
    return this.makeClient(apiUrl, { apiKey: s.apiKey });
  }

  /** A client for the operator routes (`/api/admin`), authenticated with the admin token. */
  async adminClient(): Promise<FerryClient> {
    const s = await this.settings();
    const apiUrl = requireUrl(s);
    if (!s.adminToken) {
      throw new FerryError(
        "unauthenticated",
        `no admin token for ${apiUrl}; set FERRY_ADMIN_TOKEN (the server keeps it in its FERRY_HOME/admin-token), or use the profile 'ferry server start' saved`,
      );
    }
    this.usedAuth = "admin-token";
    return this.makeClient(apiUrl, { adminToken: s.adminToken });
  }

  private makeClient(apiUrl: string, auth: { apiKey?: string; adminToken?: string }): FerryClient {
    return new FerryClient({ apiUrl, ...auth, fetch: this.io.fetch, userAgent: `ferry-cli/${VERSION}` });
  }
}

function requireUrl(s: Settings): string {
  if (s.apiUrl) {
    // Before anything else about it: without a scheme, "no API key for localhost:4200" would hide the mistake.
    checkApiUrl(s.apiUrl);
    return s.apiUrl;
  }
  throw new FerryError(
    "validation_failed",
    "no Ferry server is configured: start one with 'ferry server start' (it saves a 'local' profile), " +
      "or pass --api-url / set FERRY_API_URL, or pick a profile with 'ferry profile use NAME'",
  );
}
