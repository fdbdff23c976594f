import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { FerryError } from "@ferry/core";

/**
 * `$FERRY_HOME/profiles.json`: where the CLI (and the VS Code extension) find a server and its keys.
 *
 * ```json
 * { "active": "local", "profiles": { "local": { "api_url": "…", "api_key": "…", "admin_token": "…" } } }
 * ```
 * It holds secrets, so the file is written 0600 in a 0700 directory, and replaced atomically so a
 * reader never sees half a file.
 */
export interface Profile {
  api_url?: string;
  api_key?: string;
  admin_token?: string;
  /** Where images for this server's pools go, e.g. `registry.example.com/ferry-flows`; saved by provisioning. */
  default_image_namespace?: string;
  /**
   * Provider modules whose client plugins this profile loads, besides the server's pool types' and
   * FERRY_PROVIDERS (e.g. a provider whose types this server does not serve yet).
   */
  providers?: string[];
}

export interface ProfilesFile {
  active: string | null;
  profiles: Record<string, Profile>;
}

const PROFILE_KEYS = ["api_url", "api_key", "admin_token", "default_image_namespace"] as const;
/** An npm package name, optionally scoped: what `providers` may list. */
const MODULE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function ferryHome(env: Readonly<Record<string, string | undefined>>): string {
  return env.FERRY_HOME || join(homedir(), ".ferry");
}

export function profilesPath(home: string): string {
  return join(home, "profiles.json");
}

export function emptyProfiles(): ProfilesFile {
  return { active: null, profiles: {} };
}

export function assertProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw new FerryError("validation_failed", `profile name '${name}' is not valid: use letters, digits, '.', '_' and '-' (at most 63)`);
  }
  return name;
}

/** Checks a `providers` list: npm package names, each once. */
export function assertProviderModules(names: readonly string[]): string[] {
  const bad = names.filter((n) => !MODULE_NAME.test(n));
  if (bad.length) {
    throw new FerryError("validation_failed", `${bad.map((n) => `'${n}'`).join(", ")} ${bad.length > 1 ? "are not package names" : "is not a package name"}; give npm package names, e.g. @acme/ferry-provider`);
  }
  return [...new Set(names)];
}

/** Reads the file; a missing file is an empty one. A damaged file is an error that names it. */
export async function readProfiles(path: string): Promise<ProfilesFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyProfiles();
    throw error;
  }
  return parseProfiles(text, path);
}

export function parseProfiles(text: string, path: string): ProfilesFile {
  const broken = (why: string) =>
    new FerryError("validation_failed", `${path} is not a valid profiles file (${why}); fix it or delete it and run 'ferry profile set'`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw broken((error as Error).message);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw broken("not a JSON object");
  const { active, profiles } = raw as { active?: unknown; profiles?: unknown };
  if (active !== undefined && active !== null && typeof active !== "string") throw broken("'active' must be a profile name");
  if (profiles !== undefined && (typeof profiles !== "object" || profiles === null || Array.isArray(profiles))) {
    throw broken("'profiles' must be an object");
  }
  const out: ProfilesFile = { active: active ?? null, profiles: {} };
  for (const [name, value] of Object.entries((profiles ?? {}) as Record<string, unknown>)) {
    if (!value || typeof value !== "object") throw broken(`profile '${name}' must be an object`);
    const profile: Profile = {};
    for (const key of PROFILE_KEYS) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") throw broken(`profiles.${name}.${key} must be a string`);
      profile[key] = v;
    }
    const providers = (value as Record<string, unknown>).providers;
    if (providers !== undefined && providers !== null) {
      if (!Array.isArray(providers) || !providers.every((p) => typeof p === "string")) throw broken(`profiles.${name}.providers must be a list of module names`);
      profile.providers = providers as string[];
    }
    out.profiles[name] = profile;
  }
  return out;
}

/** Writes the file readable only by its owner, creating the directory 0700. */
export async function writeProfiles(path: string, file: ProfilesFile): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The directory also holds the server's secret key and admin token: close it if something opened it.
  const dirStat = await stat(dir);
  if ((dirStat.mode & 0o077) !== 0 && dirStat.uid === process.getuid?.()) await chmod(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: "w" });
    await chmod(tmp, 0o600); // in case the umask or an old temp file left it wider
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Reads, changes and writes the file in one step. */
export async function updateProfiles(path: string, change: (file: ProfilesFile) => void): Promise<ProfilesFile> {
  const file = await readProfiles(path);
  change(file);
  await writeProfiles(path, file);
  return file;
}

/** What the user passed on the command line that decides where requests go. */
export interface GlobalOptions {
  profile?: string;
  apiUrl?: string;
  apiKey?: string;
}

export type SettingSource = "flag" | "env" | "profile" | "none";

/** Where this invocation sends requests, and where each part came from (for `profile inspect` and hints). */
export interface Settings {
  home: string;
  profilesPath: string;
  profileName: string | null;
  apiUrl: string | null;
  apiKey: string | null;
  adminToken: string | null;
  /** The profile's `providers`: provider modules whose client plugins to load (not secrets: kept whatever the URL). */
  providers: string[];
  sources: { apiUrl: SettingSource; apiKey: SettingSource; adminToken: SettingSource };
}

/**
 * Flags win over FERRY_API_URL / FERRY_API_KEY / FERRY_PROFILE / FERRY_ADMIN_TOKEN, which win over the
 * profile file. A profile's key and admin token go only to that profile's own URL: pointing a
 * command at another server with --api-url never sends it the profile's secrets.
 */
export function resolveSettings(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>>,
  file: ProfilesFile,
  home: string,
): Settings {
  const explicitName = options.profile ?? (env.FERRY_PROFILE || undefined);
  const profileName = explicitName ?? file.active;
  let profile: Profile = {};
  if (profileName !== null && profileName !== undefined) {
    const found = file.profiles[profileName];
    if (found) profile = found;
    else if (explicitName !== undefined) {
      const names = Object.keys(file.profiles);
      throw new FerryError(
        "validation_failed",
        `profile '${explicitName}' does not exist${names.length ? ` (profiles: ${names.join(", ")})` : ""}; create it with 'ferry profile set ${explicitName} --api-url URL --api-key-stdin'`,
      );
    }
  }

  const pick = (flag: string | undefined, envValue: string | undefined, fromProfile: string | undefined) =>
    flag ? { value: flag, source: "flag" as const } : envValue ? { value: envValue, source: "env" as const } : fromProfile ? { value: fromProfile, source: "profile" as const } : { value: null, source: "none" as const };

  const apiUrl = pick(options.apiUrl, env.FERRY_API_URL, profile.api_url);
  const sameServer = apiUrl.source === "profile" || (profile.api_url !== undefined && sameUrl(apiUrl.value, profile.api_url));
  const apiKey = pick(options.apiKey, env.FERRY_API_KEY, sameServer ? profile.api_key : undefined);
  const adminToken = pick(undefined, env.FERRY_ADMIN_TOKEN, sameServer ? profile.admin_token : undefined);
  return {
    home,
    profilesPath: profilesPath(home),
    profileName: profileName && file.profiles[profileName] ? profileName : null,
    apiUrl: apiUrl.value,
    apiKey: apiKey.value,
    adminToken: adminToken.value,
    providers: profile.providers ?? [],
    sources: { apiUrl: apiUrl.source, apiKey: apiKey.source, adminToken: adminToken.source },
  };
}

function sameUrl(a: string | null, b: string): boolean {
  return a !== null && a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}
