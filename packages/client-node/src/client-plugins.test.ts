import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { isFerryError, type FerryClientPlugin, type Provisioner } from "@ferry/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientPlugins, clientPluginModules, loadClientPlugins, parseProviderList, parseProviderOptions, type ClientPluginModule } from "./client-plugins.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-client-plugins-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A client plugin module's source: a provisioner of `type` whose plan reports `marker`, and a registry login. */
function pluginSource({ type, marker, exportAs = "default" }: { type: string; marker: string; exportAs?: "default" | "named" }): string {
  const plugin = `{
  name: "fake",
  create(options) {
    const provisioner = {
      type: ${JSON.stringify(type)},
      optionsSchema: { type: "object", additionalProperties: false, properties: { cluster_name: { type: "string", description: "the cluster" } } },
      async plan() { return [{ id: "x", resource: "thing", name: ${JSON.stringify(marker)}, action: "create", detail: JSON.stringify(options) }]; },
      async apply() { return { jobVariableDefaults: {} }; },
      async planRemoval() { return []; },
      async remove() { return []; },
    };
    const login = { description: "Acme registry", matches: (r) => r.endsWith(".registry.example.com"), login: async () => ({ username: "u", password: ${JSON.stringify(marker)} }) };
    return { provisioners: [provisioner], registryLogins: [login] };
  },
}`;
  return exportAs === "default" ? `export default ${plugin};\n` : `export const ferryClientPlugin = ${plugin};\n`;
}

/** Writes `node_modules/<name>` under `root` with the given package.json fields and files. */
async function installPackage(root: string, name: string, pkg: Record<string, unknown>, files: Record<string, string>): Promise<void> {
  const at = join(root, "node_modules", name);
  await mkdir(at, { recursive: true });
  await writeFile(join(at, "package.json"), JSON.stringify({ name, version: "1.0.0", type: "module", ...pkg }));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(at, file)), { recursive: true });
    await writeFile(join(at, file), text);
  }
}

const withClient = { exports: { ".": "./index.js", "./client": "./client.js" } };
const serverOnly = { exports: { ".": "./index.js" } };

function from(...names: string[]): ClientPluginModule[] {
  return names.map((name) => ({ name, from: "FERRY_PROVIDERS" }));
}

async function planMarker(provisioner: Provisioner): Promise<{ name: string; detail?: string }> {
  const [step] = await provisioner.plan({ poolName: "p", options: {}, hasCredentials: false });
  return step!;
}

describe("loadClientPlugins", () => {
  it("imports <name>/client from the working directory first, with the module's options", async () => {
    const cwd = join(dir, "project");
    const tool = join(dir, "tool");
    await installPackage(cwd, "@acme/provider", withClient, { "index.js": "", "client.js": pluginSource({ type: "acme:push", marker: "from-cwd" }) });
    await installPackage(tool, "@acme/provider", withClient, { "index.js": "", "client.js": pluginSource({ type: "acme:push", marker: "from-tool" }) });
    const plugins = await loadClientPlugins(from("@acme/provider"), {
      cwd,
      loaderUrl: pathToFileURL(join(tool, "dist", "loader.js")).href,
      options: { "@acme/provider": { endpoint: "http://127.0.0.1:1" } },
    });
    const step = await planMarker(plugins.provisioner("acme:push"));
    expect(step.name).toBe("from-cwd");
    expect(JSON.parse(step.detail!)).toEqual({ endpoint: "http://127.0.0.1:1" });
    expect(plugins.provisionableTypes()).toEqual(["acme:push"]);
    expect(plugins.loaded).toEqual(["@acme/provider"]);
  });

  it("falls back to the loader's own location, and takes a plugin exported as ferryClientPlugin", async () => {
    const tool = join(dir, "tool");
    await installPackage(tool, "acme-provider", withClient, { "index.js": "", "client.js": pluginSource({ type: "acme:push", marker: "from-tool", exportAs: "named" }) });
    await mkdir(join(dir, "empty"));
    const plugins = await loadClientPlugins(from("acme-provider"), { cwd: join(dir, "empty"), loaderUrl: pathToFileURL(join(tool, "loader.js")).href });
    expect((await planMarker(plugins.provisioner("acme:push"))).name).toBe("from-tool");
  });

  it("gives the registry login that matches a registry", async () => {
    await installPackage(dir, "@acme/provider", withClient, { "index.js": "", "client.js": pluginSource({ type: "acme:push", marker: "secret-1" }) });
    const plugins = await loadClientPlugins(from("@acme/provider"), { cwd: dir });
    expect(plugins.registryLogin("127.0.0.1:5000")).toBeNull();
    const login = plugins.registryLogin("team.registry.example.com");
    expect(login?.description).toBe("Acme registry");
    expect(await login!.login("team.registry.example.com", {})).toEqual({ username: "u", password: "secret-1" });
  });

  it("loads the others when a module has no ./client export, and says so only when its type is asked for", async () => {
    await installPackage(dir, "@acme/provider", withClient, { "index.js": "", "client.js": pluginSource({ type: "acme:push", marker: "m" }) });
    await installPackage(dir, "@other/server-only", serverOnly, { "index.js": "" });
    await installPackage(dir, "legacy-provider", { main: "index.js" }, { "index.js": "" });
    const plugins = await loadClientPlugins(from("@acme/provider", "@other/server-only", "legacy-provider"), { cwd: dir });
    expect(plugins.provisionableTypes()).toEqual(["acme:push"]);
    expect(plugins.unavailable.map((u) => [u.name, u.reason])).toEqual([
      ["@other/server-only", "no_client_export"],
      ["legacy-provider", "no_client_export"],
    ]);
    expect(() => plugins.provisioner("other:push", "@other/server-only")).toThrow(
      /pool type 'other:push' cannot be provisioned from here: its plugin '@other\/server-only' \(from FERRY_PROVIDERS\) has no '\.\/client' export.*types with a provisioner here: acme:push/,
    );
  });

  it("records a module that is not installed, naming npm i, and fails only when its type is asked for", async () => {
    const plugins = await loadClientPlugins([{ name: "@acme/missing", from: "the server (pool type missing:push)" }], { cwd: dir });
    expect(plugins.unavailable).toMatchObject([{ name: "@acme/missing", reason: "not_installed" }]);
    let error: unknown;
    try {
      plugins.provisioner("missing:push", "@acme/missing");
    } catch (e) {
      error = e;
    }
    expect(isFerryError(error, "validation_failed")).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`'@acme/missing' \\(from the server \\(pool type missing:push\\)\\) is not installed here: run 'npm i @acme/missing' in ${dir}, or install it beside this tool \\(for a global 'ferry' command: 'npm i -g @acme/missing'\\).*types with a provisioner here: none`));
  });

  it("refuses a ./client export that is not a plugin", async () => {
    await installPackage(dir, "@acme/broken", withClient, { "index.js": "", "client.js": "export const something = 1;\n" });
    await expect(loadClientPlugins(from("@acme/broken"), { cwd: dir })).rejects.toThrow(
      /module '@acme\/broken\/client' \(from FERRY_PROVIDERS\) is not a Ferry client plugin: it must export a plugin with create\(\) as its default export or as 'ferryClientPlugin'/,
    );
  });

  it("refuses a provisioner that breaks the contract, naming the plugin", async () => {
    await installPackage(dir, "@acme/bad-type", withClient, { "index.js": "", "client.js": pluginSource({ type: "Not A Type", marker: "m" }) });
    await expect(loadClientPlugins(from("@acme/bad-type"), { cwd: dir })).rejects.toThrow(/plugin @acme\/bad-type: provisioner type 'Not A Type' must look like 'name:push'/);
  });
});

describe("ClientPlugins.create", () => {
  const plugin = (type: string, extra: Partial<Provisioner> = {}): FerryClientPlugin => ({
    name: type,
    create: () => ({
      provisioners: [
        {
          type,
          optionsSchema: { type: "object", additionalProperties: false, properties: {} },
          plan: async () => [],
          apply: async () => ({ jobVariableDefaults: {} }),
          planRemoval: async () => [],
          remove: async () => [],
          ...extra,
        },
      ],
    }),
  });

  it("refuses two provisioners of one type", () => {
    expect(() => ClientPlugins.create([{ name: "a", plugin: plugin("acme:push") }, { name: "b", plugin: plugin("acme:push") }])).toThrow(
      /pool type acme:push has two provisioners, from 'a' and 'b'/,
    );
  });

  it("names the plugin whose create() throws, and its options", () => {
    const throwing: FerryClientPlugin = { name: "t", create: () => { throw new Error("endpoint is required"); } };
    expect(() => ClientPlugins.create([{ name: "@acme/t", plugin: throwing }])).toThrow(/client plugin '@acme\/t' could not start: its create\(\) threw: endpoint is required; check its options in FERRY_PROVIDER_OPTIONS/);
  });

  it("says when a loaded plugin brings no provisioner for a type, and when nothing names the type's plugin", () => {
    const plugins = ClientPlugins.create([{ name: "@acme/provider", plugin: plugin("acme:push") }]);
    expect(() => plugins.provisioner("beta:push", "@acme/provider")).toThrow(/its plugin '@acme\/provider' brings no provisioner for it; types with a provisioner here: acme:push/);
    expect(() => plugins.provisioner("beta:push")).toThrow(/the client plugins loaded \(@acme\/provider\) bring none; name the provider package that brings it in FERRY_PROVIDERS or in the profile's providers/);
  });
});

describe("which modules", () => {
  it("is the union of the server's pool types' plugins, FERRY_PROVIDERS and the profile's providers, each once", () => {
    const modules = clientPluginModules({
      poolTypes: [
        { type: "ferry:managed", plugin: null },
        { type: "acme:push", plugin: "@acme/provider" },
        { type: "acme-batch:push", plugin: "@acme/provider" },
      ],
      env: parseProviderList(" @acme/provider, @beta/provider ,,"),
      profile: { name: "local", providers: ["@gamma/provider", "@beta/provider"] },
    });
    expect(modules).toEqual([
      { name: "@acme/provider", from: "the server (pool type acme:push)" },
      { name: "@beta/provider", from: "FERRY_PROVIDERS" },
      { name: "@gamma/provider", from: "profile 'local' (providers)" },
    ]);
  });

  it("reads FERRY_PROVIDER_OPTIONS as the server does, and says how to fix it", () => {
    expect(parseProviderOptions(undefined)).toEqual({});
    expect(parseProviderOptions('{"@acme/provider": {"endpoint": "x"}}')).toEqual({ "@acme/provider": { endpoint: "x" } });
    expect(() => parseProviderOptions("{nope")).toThrow(/FERRY_PROVIDER_OPTIONS is not JSON.*keyed by plugin module/);
    expect(() => parseProviderOptions('{"@acme/provider": 3}')).toThrow(/has options for '@acme\/provider' that are not an object/);
  });
});
