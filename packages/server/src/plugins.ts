import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { resolve as resolveModule } from "import-meta-resolve";
import { DEFAULT_PLUGIN_CONTEXT, FerryError, isPushType, PoolTypeRegistry, type FerryPlugin, type PluginContext } from "@ferry/core";

export interface LoadPluginsOptions {
  /**
   * The folder a module name is resolved from first: the operator's folder where they `npm i` the
   * providers beside the server. Default: the process's working directory.
   */
  cwd?: string;
  /** Where a module name is resolved from second; default: this file, i.e. the server's own install. */
  serverUrl?: string;
  /** What every plugin's `create` gets besides its options; default: no ambient credentials, no log. */
  context?: PluginContext;
}

/**
 * Loads the provider plugins named in FERRY_PROVIDERS, in order, into a registry. Nothing is
 * discovered: a pool type exists on a server only when its plugin is listed. A plugin module exports a
 * `FerryPlugin` as its default export or as `ferryPlugin`; its `create` gets the module's options and
 * the server's context (FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS, the log).
 */
export async function loadPlugins(
  modules: readonly string[],
  options: Readonly<Record<string, Record<string, unknown>>>,
  where: LoadPluginsOptions = {},
): Promise<PoolTypeRegistry> {
  const cwd = where.cwd ?? process.cwd();
  const serverUrl = where.serverUrl ?? import.meta.url;
  const registry = new PoolTypeRegistry();
  for (const name of modules) {
    const url = locate(name, cwd, serverUrl);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      throw new FerryError("validation_failed", `provider plugin '${name}' (${url}) failed to load: ${messageOf(error)}; reinstall it, or remove it from FERRY_PROVIDERS`, {
        cause: error,
      });
    }
    const plugin = pluginOf(mod);
    if (!plugin) {
      throw new FerryError(
        "validation_failed",
        `module '${name}' in FERRY_PROVIDERS is not a Ferry plugin: it must export a plugin with create() as its default export or as 'ferryPlugin'; check the name, or remove it from FERRY_PROVIDERS`,
      );
    }
    let made: ReturnType<FerryPlugin["create"]>;
    try {
      made = await plugin.create(options[name] ?? {}, where.context ?? DEFAULT_PLUGIN_CONTEXT);
    } catch (error) {
      throw new FerryError("validation_failed", `provider plugin '${name}' could not start: its create() threw: ${messageOf(error)}; check its options in FERRY_PROVIDER_OPTIONS`, {
        cause: error,
      });
    }
    if (!made || typeof made !== "object") {
      throw new FerryError("validation_failed", `provider plugin '${name}': create() must return { providers, credentialTypes }, and returned ${String(made)}`);
    }
    registry.registerPlugin(name, made);
  }
  return registry;
}

/**
 * The module's URL: from the operator's folder first, so a provider installed there wins over one that
 * happens to sit beside the server, then from the server's own location.
 */
function locate(name: string, cwd: string, serverUrl: string): string {
  const fromCwd = pathToFileURL(join(cwd, "/")).href;
  const missing: unknown[] = [];
  for (const parent of [fromCwd, serverUrl]) {
    try {
      return resolveModule(name, parent);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") {
        throw new FerryError("validation_failed", `provider plugin '${name}' cannot be resolved: ${messageOf(error)}; fix its installation, or remove it from FERRY_PROVIDERS`, {
          cause: error,
        });
      }
      missing.push(error);
    }
  }
  throw new FerryError(
    "validation_failed",
    `provider plugin '${name}' is not installed: npm i ${name} in ${cwd} or beside the server, or remove it from FERRY_PROVIDERS`,
    { cause: missing[0] },
  );
}

/** "ferry:managed (built in), acme:push (from @acme/ferry-provider)"; says how to add a push type when there is none. */
export function describePoolTypes(registry: PoolTypeRegistry): string {
  const types = registry.list();
  const listed = types.map((t) => `${t.type} (${t.plugin ? `from ${t.plugin}` : "built in"})`).join(", ");
  if (types.some((t) => isPushType(t.type))) return listed;
  return `${listed}; no push pool types: install a provider package beside the server (npm i <package>) and name it in FERRY_PROVIDERS`;
}

/** The plugin a module exports; a CommonJS module's exports arrive as the default export. */
function pluginOf(mod: Record<string, unknown>): FerryPlugin | null {
  const fallback = mod.default as Record<string, unknown> | undefined;
  for (const candidate of [mod.ferryPlugin, mod.default, fallback?.ferryPlugin]) {
    if (candidate && typeof (candidate as FerryPlugin).create === "function") return candidate as FerryPlugin;
  }
  return null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
