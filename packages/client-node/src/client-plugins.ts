import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve as resolveModule } from "import-meta-resolve";
import { assertValidProvisioner, FerryError, type FerryClientPlugin, type Provisioner, type RegistryLogin } from "@ferry/core";

/**
 * Client plugins: the `./client` export of a provider package, loaded on the user's machine by the CLI
 * (and the GitHub Action and the VS Code extension) to provision a pool type's cloud side and to log in
 * to a cloud's image registry. Which modules load is one list, never an import by name: the server's
 * pool types' plugins, FERRY_PROVIDERS in the environment, and the profile's `providers`.
 */

/** A module to load, and where its name came from (for messages). */
export interface ClientPluginModule {
  name: string;
  /** e.g. "the server (pool type acme:push)", "FERRY_PROVIDERS", "profile 'local'". */
  from: string;
}

export interface ClientPluginSources {
  /** The server's pool types (`GET /api/work-pool-types`): each names the plugin module that brings it. */
  poolTypes?: readonly { type: string; plugin: string | null }[];
  /** FERRY_PROVIDERS of the client's environment, parsed with `parseProviderList`. */
  env?: readonly string[];
  /** The active profile's `providers`. */
  profile?: { name: string; providers: readonly string[] } | null;
}

/** The union of the three lists, each module once, in that order. */
export function clientPluginModules(sources: ClientPluginSources): ClientPluginModule[] {
  const out = new Map<string, ClientPluginModule>();
  const add = (name: string, from: string) => {
    if (!out.has(name)) out.set(name, { name, from });
  };
  for (const t of sources.poolTypes ?? []) if (t.plugin) add(t.plugin, `the server (pool type ${t.type})`);
  for (const name of sources.env ?? []) add(name, "FERRY_PROVIDERS");
  if (sources.profile) for (const name of sources.profile.providers) add(name, `profile '${sources.profile.name}' (providers)`);
  return [...out.values()];
}

/** FERRY_PROVIDERS: a comma-separated list of module names, as the server reads it. */
export function parseProviderList(text: string | undefined): string[] {
  return [...new Set((text ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
}

/** FERRY_PROVIDER_OPTIONS: a JSON object of options by module name, as the server reads it. */
export function parseProviderOptions(text: string | undefined): Record<string, Record<string, unknown>> {
  if (!text?.trim()) return {};
  const bad = (why: string) =>
    new FerryError("validation_failed", `FERRY_PROVIDER_OPTIONS ${why}; it must be a JSON object keyed by plugin module, e.g. {"@acme/ferry-provider": {"endpoint": "…"}}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw bad(`is not JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed)) throw bad("is not a JSON object");
  for (const [name, value] of Object.entries(parsed)) if (!isRecord(value)) throw bad(`has options for '${name}' that are not an object`);
  return parsed as Record<string, Record<string, unknown>>;
}

/** A module that brings nothing here, and why: not an error until one of its types is asked for. */
export interface UnavailableClientPlugin {
  name: string;
  from: string;
  reason: "not_installed" | "no_client_export";
  /** What is wrong and how to fix it, in a sentence. */
  message: string;
}

/** A client plugin a module exports, ready to be created with its options. */
export interface ClientPluginEntry {
  name: string;
  plugin: FerryClientPlugin;
}

/**
 * The loaded client plugins: provisioners by pool type and the registry logins. Made by
 * `loadClientPlugins`, or by `ClientPlugins.create` from plugin objects in hand (tests, fakes).
 */
export class ClientPlugins {
  private readonly byType = new Map<string, { provisioner: Provisioner; plugin: string }>();
  private readonly logins: { login: RegistryLogin; plugin: string }[] = [];

  private constructor(
    /** Modules whose client plugin was created. */
    readonly loaded: readonly string[],
    readonly unavailable: readonly UnavailableClientPlugin[],
  ) {}

  /**
   * Calls each plugin's `create` with its module's options and checks what it returns, so a broken
   * plugin fails here, with its name, before anything is planned.
   */
  static create(entries: readonly ClientPluginEntry[], options: Readonly<Record<string, Record<string, unknown>>> = {}, unavailable: readonly UnavailableClientPlugin[] = []): ClientPlugins {
    const out = new ClientPlugins(
      entries.map((e) => e.name),
      unavailable,
    );
    for (const { name, plugin } of entries) {
      let made: ReturnType<FerryClientPlugin["create"]>;
      try {
        made = plugin.create(options[name] ?? {});
      } catch (error) {
        throw new FerryError("validation_failed", `client plugin '${name}' could not start: its create() threw: ${messageOf(error)}; check its options in FERRY_PROVIDER_OPTIONS`, {
          cause: error,
        });
      }
      if (!isRecord(made) || typeof (made as { then?: unknown }).then === "function") {
        throw new FerryError("validation_failed", `client plugin '${name}': create() must return { provisioners, registryLogins } (not a promise), and returned ${String(made)}; update or reinstall it`);
      }
      for (const provisioner of made.provisioners ?? []) {
        assertValidProvisioner(provisioner, name);
        const other = out.byType.get(provisioner.type);
        if (other) {
          throw new FerryError("conflict", `pool type ${provisioner.type} has two provisioners, from '${other.plugin}' and '${name}'; load only one of them`);
        }
        out.byType.set(provisioner.type, { provisioner, plugin: name });
      }
      for (const login of made.registryLogins ?? []) {
        if (typeof login?.matches !== "function" || typeof login.login !== "function") {
          throw new FerryError("validation_failed", `client plugin '${name}': a registry login must have matches() and login(); update or reinstall it`);
        }
        out.logins.push({ login, plugin: name });
      }
    }
    return out;
  }

  /** Pool types that have a provisioner, sorted. */
  provisionableTypes(): string[] {
    return [...this.byType.keys()].sort();
  }

  /** Every provisioner, with the module that brought it. */
  provisioners(): { provisioner: Provisioner; plugin: string }[] {
    return this.provisionableTypes().map((t) => this.byType.get(t)!);
  }

  /**
   * The provisioner of `type`. None: an error saying why (the type's plugin is not installed here, has
   * no client export, or brings no provisioner for it) and which types have one.
   */
  provisioner(type: string, typePlugin: string | null = null): Provisioner {
    const found = this.byType.get(type);
    if (found) return found.provisioner;
    const types = this.provisionableTypes();
    const offer = `types with a provisioner here: ${types.join(", ") || "none"}`;
    const missing = typePlugin ? this.unavailable.find((u) => u.name === typePlugin) : undefined;
    let why: string;
    if (missing) why = missing.message;
    else if (typePlugin && this.loaded.includes(typePlugin)) why = `its plugin '${typePlugin}' brings no provisioner for it`;
    else if (typePlugin) why = `its plugin '${typePlugin}' was not loaded`;
    else {
      const loaded = this.loaded.length ? `the client plugins loaded (${this.loaded.join(", ")}) bring none` : "no client plugin is loaded";
      why = `${loaded}; name the provider package that brings it in FERRY_PROVIDERS or in the profile's providers ('ferry profile set NAME --providers MODULE')`;
    }
    return failNoProvisioner(type, why, offer);
  }

  /** The login a plugin offers for `registry` (a host, with its port), or null. */
  registryLogin(registry: string): RegistryLogin | null {
    return this.logins.find((l) => l.login.matches(registry))?.login ?? null;
  }
}

function failNoProvisioner(type: string, why: string, offer: string): never {
  throw new FerryError("validation_failed", `pool type '${type}' cannot be provisioned from here: ${why}; ${offer}`);
}

export interface LoadClientPluginsOptions {
  /** The folder a module is resolved from first: where the user installs providers (the working directory). */
  cwd: string;
  /** Where a module is resolved from second; default: this file, i.e. the tool's own install (a CommonJS bundle, where `import.meta` is empty, must pass it). */
  loaderUrl?: string;
  /** Options for each module's `create`, by module name (FERRY_PROVIDER_OPTIONS). */
  options?: Readonly<Record<string, Record<string, unknown>>>;
}

/**
 * Imports `<name>/client` of each module, resolved from `cwd` first and then from the loader's own
 * location, and creates its client plugin (the default export, or `ferryClientPlugin`). A module that
 * is not installed here or has no `./client` export is recorded in `unavailable`: only the types it
 * would provision are lost, and asking for one of them says why. A module that is not a plugin fails.
 */
export async function loadClientPlugins(modules: readonly ClientPluginModule[], options: LoadClientPluginsOptions): Promise<ClientPlugins> {
  const loaderUrl = options.loaderUrl ?? import.meta.url;
  const entries: ClientPluginEntry[] = [];
  const unavailable: UnavailableClientPlugin[] = [];
  for (const module of modules) {
    const found = locateClient(module, options.cwd, loaderUrl);
    if ("reason" in found) {
      unavailable.push(found);
      continue;
    }
    let imported: Record<string, unknown>;
    try {
      imported = (await import(found.url)) as Record<string, unknown>;
    } catch (error) {
      throw new FerryError("validation_failed", `client plugin '${module.name}/client' (${found.url}) failed to load: ${messageOf(error)}; reinstall ${module.name}`, { cause: error });
    }
    const plugin = clientPluginOf(imported);
    if (!plugin) {
      throw new FerryError(
        "validation_failed",
        `module '${module.name}/client' (from ${module.from}) is not a Ferry client plugin: it must export a plugin with create() as its default export or as 'ferryClientPlugin'; check the module name`,
      );
    }
    entries.push({ name: module.name, plugin });
  }
  return ClientPlugins.create(entries, options.options ?? {}, unavailable);
}

/**
 * `<name>/client`'s URL: from the user's folder first, so a provider installed there wins over one that
 * happens to sit beside the tool, then from the tool's own location. The first place that has the
 * package decides, as Node's own resolution would.
 */
function locateClient(module: ClientPluginModule, cwd: string, loaderUrl: string): { url: string } | UnavailableClientPlugin {
  const { name, from } = module;
  for (const parent of [pathToFileURL(join(cwd, "/")).href, loaderUrl]) {
    let url: string;
    try {
      url = resolveModule(`${name}/client`, parent);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ERR_PACKAGE_PATH_NOT_EXPORTED") return noClientExport(module);
      if (code === "ERR_MODULE_NOT_FOUND" && !isInstalled(name, parent)) continue;
      if (code === "ERR_MODULE_NOT_FOUND") {
        return { name, from, reason: "no_client_export", message: `its plugin '${name}' (from ${from}) has a './client' export whose file is missing: reinstall it ('npm i ${name}')` };
      }
      throw new FerryError("validation_failed", `client plugin '${name}/client' (from ${from}) cannot be resolved: ${messageOf(error)}; check the module name, or reinstall it`, {
        cause: error,
      });
    }
    // A package without an `exports` map resolves `name/client` to a path without checking it exists.
    if (url.startsWith("file:") && !existsSync(fileURLToPath(url))) return noClientExport(module);
    return { url };
  }
  return {
    name,
    from,
    reason: "not_installed",
    message: `its plugin '${name}' (from ${from}) is not installed here: run 'npm i ${name}' in ${cwd}, or install it beside this tool (for a global 'ferry' command: 'npm i -g ${name}')`,
  };
}

/** Whether the package itself is there (a missing `./client` and a missing package both report ERR_MODULE_NOT_FOUND). */
function isInstalled(name: string, parent: string): boolean {
  try {
    resolveModule(name, parent);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND";
  }
}

function noClientExport({ name, from }: ClientPluginModule): UnavailableClientPlugin {
  return {
    name,
    from,
    reason: "no_client_export",
    message: `its plugin '${name}' (from ${from}) has no './client' export, so it brings no provisioner or registry login (a newer version may: 'npm i ${name}@latest')`,
  };
}

/** The plugin a module exports; a CommonJS module's exports arrive as the default export. */
function clientPluginOf(mod: Record<string, unknown>): FerryClientPlugin | null {
  const fallback = mod.default as Record<string, unknown> | undefined;
  for (const candidate of [mod.ferryClientPlugin, mod.default, fallback?.ferryClientPlugin]) {
    if (candidate && typeof (candidate as FerryClientPlugin).create === "function") return candidate as FerryClientPlugin;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
