import { FerryError, PoolTypeRegistry, type FerryPlugin } from "@ferry/core";

/**
 * Loads the provider plugins named in the configuration, in order, into a registry. A plugin module
 * exports a `FerryPlugin` as its default export (or as `ferryPlugin`). Nothing is discovered: a pool type
 * exists on a server only when its plugin is listed.
 */
export async function loadPlugins(
  modules: string[],
  options: Record<string, Record<string, unknown>>,
  importer: (specifier: string) => Promise<unknown> = (s) => import(s),
): Promise<PoolTypeRegistry> {
  const registry = new PoolTypeRegistry();
  for (const specifier of modules) {
    let mod: { default?: FerryPlugin; ferryPlugin?: FerryPlugin };
    try {
      mod = (await importer(specifier)) as typeof mod;
    } catch (error) {
      throw new FerryError("validation_failed", `provider plugin '${specifier}' could not be loaded (${(error as Error).message}); install it or remove it from FERRY_PROVIDERS`, { cause: error });
    }
    const plugin = mod.ferryPlugin ?? mod.default;
    if (!plugin || typeof plugin.create !== "function") {
      throw new FerryError("validation_failed", `module '${specifier}' in FERRY_PROVIDERS does not export a Ferry plugin (a default export with create())`);
    }
    const made = plugin.create(options[specifier] ?? {});
    for (const provider of made.providers ?? []) registry.registerProvider(provider, specifier);
    for (const provisioner of made.provisioners ?? []) registry.registerProvisioner(provisioner);
  }
  return registry;
}
