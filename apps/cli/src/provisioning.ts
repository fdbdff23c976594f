import { Option, type Command } from "commander";
import { FerryError, isFerryError, parseProvisionOptions, type ProviderInfo, type Provisioner, type ValidationIssue } from "@ferry/core";
import { clientPluginModules, loadClientPlugins as loadModules, parseProviderList, parseProviderOptions, type ClientPlugins } from "@ferry/client-node";
import type { CommandContext } from "./context.js";

/**
 * The providers' client plugins, as the provisioning commands and image pushes need them. Nothing here
 * names a cloud: the plugins are the modules the server's pool types come from, plus FERRY_PROVIDERS,
 * plus the profile's `providers`; each brings its provisioners and registry logins.
 */

/** What a provisioning command loaded before its flags were parsed. */
export interface ProvisioningSetup {
  plugins: ClientPlugins;
  /** The server's pool types; empty when `serverError` says why they could not be read (only for --help). */
  poolTypes: ProviderInfo[];
  flags: ProvisionFlag[];
  serverError: string | null;
}

/** A provisioner option as a command-line flag: `cluster_name` → `--cluster-name <value>`. */
export interface ProvisionFlag {
  /** The option's key in the provisioner's `optionsSchema`. */
  key: string;
  long: string;
  /** Where commander puts its value: `clusterName`. */
  attribute: string;
  /** Pool types whose provisioner takes it. */
  types: string[];
  description: string;
}

/**
 * Reads the server's pool types (the plugins they name) and loads the client plugins of those, of
 * FERRY_PROVIDERS and of the profile's `providers`. With `tolerateServer` (for --help), a server that
 * cannot be reached costs only its plugins.
 */
export async function loadProvisioning(ctx: CommandContext, { tolerateServer = false }: { tolerateServer?: boolean } = {}): Promise<ProvisioningSetup> {
  let poolTypes: ProviderInfo[] = [];
  let serverError: string | null = null;
  try {
    poolTypes = await ctx.poolTypes();
  } catch (error) {
    if (!tolerateServer) throw error;
    serverError = error instanceof Error ? error.message : String(error);
  }
  const plugins = await ctx.clientPlugins(poolTypes);
  return { plugins, poolTypes, flags: provisionFlags(plugins.provisioners().map((p) => p.provisioner)), serverError };
}

/** The modules to load and their options, from the server's pool types and this process's settings. */
export async function loadClientPlugins(ctx: CommandContext, poolTypes: readonly ProviderInfo[]): Promise<ClientPlugins> {
  const settings = await ctx.settings();
  const modules = clientPluginModules({
    poolTypes,
    env: parseProviderList(ctx.io.env.FERRY_PROVIDERS),
    profile: settings.profileName ? { name: settings.profileName, providers: settings.providers } : null,
  });
  const options = parseProviderOptions(ctx.io.env.FERRY_PROVIDER_OPTIONS);
  return (ctx.io.loadClientPlugins ?? loadModules)(modules, { cwd: ctx.io.cwd, options });
}

/** One flag per option key; an option two types share is one flag whose description names both. */
export function provisionFlags(provisioners: readonly Pick<Provisioner, "type" | "optionsSchema">[]): ProvisionFlag[] {
  const byKey = new Map<string, { types: string[]; descriptions: Map<string, string[]> }>();
  for (const p of provisioners) {
    for (const [key, property] of Object.entries(p.optionsSchema.properties)) {
      const entry = byKey.get(key) ?? { types: [], descriptions: new Map<string, string[]>() };
      entry.types.push(p.type);
      const text = `${property.description}${property.default !== undefined ? ` (default ${property.default})` : ""}`;
      entry.descriptions.set(text, [...(entry.descriptions.get(text) ?? []), p.type]);
      byKey.set(key, entry);
    }
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, { types, descriptions }]) => {
      const long = `--${key.replace(/_/g, "-")}`;
      const description = [...descriptions.entries()].map(([text, of]) => `${of.join(", ")}: ${text}`).join("; ");
      return { key, long, attribute: new Option(`${long} <value>`).attributeName(), types, description };
    });
}

/** Adds the flags to a command, refusing one that a command (or the program) already has. */
export function addProvisionFlags(command: Command, flags: readonly ProvisionFlag[], setup: Pick<ProvisioningSetup, "plugins">): void {
  const taken = new Set<string>();
  for (let c: Command | null = command; c; c = c.parent) {
    for (const o of c.options) {
      if (o.long) taken.add(o.long);
      taken.add(o.attributeName());
    }
  }
  taken.add("--help");
  for (const flag of flags) {
    if (taken.has(flag.long) || taken.has(flag.attribute)) {
      const plugin = setup.plugins.provisioners().find((p) => flag.types.includes(p.provisioner.type))?.plugin ?? "?";
      throw new FerryError(
        "validation_failed",
        `client plugin '${plugin}': provisioning option '${flag.key}' (${flag.types.join(", ")}) would be ${flag.long}, which 'ferry ${command.parent?.name()} ${command.name()}' already has; the plugin must rename the option`,
      );
    }
    command.addOption(new Option(`${flag.long} <value>`, flag.description).helpGroup("Provider options (from the providers' client plugins):"));
  }
}

/** The provider options given on the command line, by their schema key. */
export function givenOptions(flags: readonly ProvisionFlag[], values: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const value = values[flag.attribute];
    if (typeof value === "string") out[flag.key] = value;
  }
  return out;
}

/**
 * The given options checked against the pool type's provisioner, before anything is touched: a flag
 * of another type is a usage error that lists this type's flags; a value the schema refuses names its flag.
 */
export function checkProvisionOptions(provisioner: Pick<Provisioner, "type" | "optionsSchema">, given: Record<string, string>): Record<string, string> {
  const flagOf = (key: string) => `--${key.replace(/_/g, "-")}`;
  const own = Object.keys(provisioner.optionsSchema.properties);
  const stray = Object.keys(given).filter((k) => !own.includes(k));
  if (stray.length) {
    throw new FerryError(
      "validation_failed",
      `${stray.map(flagOf).join(", ")} ${stray.length > 1 ? "are not options" : "is not an option"} of ${provisioner.type}; its options: ${own.map(flagOf).join(", ") || "none"}`,
    );
  }
  try {
    return parseProvisionOptions(provisioner, given);
  } catch (error) {
    const issues = isFerryError(error, "validation_failed") ? (error.details as { issues?: ValidationIssue[] } | undefined)?.issues : undefined;
    if (!issues?.length) throw error;
    throw new FerryError("validation_failed", `invalid options for ${provisioner.type}: ${issues.map((i) => `${flagOf(i.path)} ${i.message}`).join("; ")}`, {
      details: { issues },
      cause: error,
    });
  }
}
