import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { isFerryError, MANAGED_POOL_TYPE } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { describePoolTypes, loadPlugins } from "./plugins.js";

const root = mkdtempSync(join(tmpdir(), "ferry-plugins-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let folders = 0;
/** A folder with the given packages in its node_modules, as `npm i` would leave them (ES modules). */
function folder(packages: Record<string, string>): string {
  const dir = join(root, `f${++folders}`);
  for (const [name, source] of Object.entries(packages)) {
    const pkg = join(dir, "node_modules", name);
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name, version: "1.0.0", type: "module", exports: "./index.js" }));
    writeFileSync(join(pkg, "index.js"), source);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Where the server's own install would resolve from: a file inside a folder. */
const serverIn = (dir: string) => pathToFileURL(join(dir, "server", "dist", "plugins.js")).href;

/** A plugin module's source: a push provider of `type`, and a credentials type when it needs one. */
function pluginSource(type: string, options: { exportAs?: "default" | "ferryPlugin"; credentials?: string; extra?: string } = {}): string {
  const credentials = options.credentials ?? null;
  const plugin = `{
    name: "p",
    create(options, context) {
      globalThis.__ferryPluginOptions = { ...(globalThis.__ferryPluginOptions ?? {}), [${JSON.stringify(type)}]: options };
      globalThis.__ferryPluginContexts = { ...(globalThis.__ferryPluginContexts ?? {}), [${JSON.stringify(type)}]: context };
      return {
        credentialTypes: ${credentials ? `[{ type: ${JSON.stringify(credentials)}, description: "a key pair", schema: { type: "object", required: ["secret"], properties: { id: { type: "string" }, secret: { type: "string", "x-ferry-secret": true } } } }]` : "[]"},
        providers: [{
          type: ${JSON.stringify(type)},
          description: "a test platform",
          credentialsType: ${JSON.stringify(credentials)},
          defaultBaseJobTemplate: { variables: { type: "object", properties: {} }, job_configuration: {} },
          async submit() { return { infrastructureId: "x" }; },
          async status() { return { phase: "running" }; },
          async cancel() {},
        }],
      };
    },
  }`;
  const body = options.exportAs === "ferryPlugin" ? `export const ferryPlugin = ${plugin};` : `export default ${plugin};`;
  return `${options.extra ?? ""}\n${body}\n`;
}

const contextSeen = () => (globalThis as { __ferryPluginContexts?: Record<string, { allowAmbientCredentials: boolean; logger: { warn(o: object, m: string): void } }> }).__ferryPluginContexts ?? {};
const optionsSeen = () => (globalThis as { __ferryPluginOptions?: Record<string, unknown> }).__ferryPluginOptions ?? {};

describe("loadPlugins", () => {
  it("loads nothing but ferry:managed when no plugin is listed", async () => {
    const registry = await loadPlugins([], {}, { cwd: folder({ "@acme/unlisted": pluginSource("unlisted:push") }) });
    expect(registry.names()).toEqual([MANAGED_POOL_TYPE]);
    expect(registry.credentialTypes.names()).toEqual(["git"]);
  });

  it("loads exactly the listed modules from the working directory, hands each its options and records its name", async () => {
    const cwd = folder({
      "@acme/ferry-provider": pluginSource("acme:push", { credentials: "keypair" }),
      "named-export": pluginSource("named:push", { exportAs: "ferryPlugin" }),
      "@acme/unlisted": pluginSource("unlisted:push"),
    });
    const registry = await loadPlugins(["@acme/ferry-provider", "named-export"], { "@acme/ferry-provider": { endpoint: "http://127.0.0.1:9" } }, { cwd, serverUrl: serverIn(folder({})) });
    expect(registry.names()).toEqual(["acme:push", MANAGED_POOL_TYPE, "named:push"]);
    expect(registry.get("acme:push")).toMatchObject({ plugin: "@acme/ferry-provider", credentialsType: "keypair", managed: false });
    expect(registry.get("named:push").plugin).toBe("named-export");
    expect(registry.credentialTypes.names()).toEqual(["git", "keypair"]);
    expect(optionsSeen()["acme:push"]).toEqual({ endpoint: "http://127.0.0.1:9" });
    expect(optionsSeen()["named:push"]).toEqual({});
  });

  it("hands every plugin the server's context: no ambient cloud credentials unless the operator allows them, and the log", async () => {
    const cwd = folder({ "ctx-default": pluginSource("ctx-default:push"), "ctx-allowed": pluginSource("ctx-allowed:push") });
    await loadPlugins(["ctx-default"], {}, { cwd });
    expect(contextSeen()["ctx-default:push"]?.allowAmbientCredentials).toBe(false);
    const warned: string[] = [];
    await loadPlugins(["ctx-allowed"], {}, { cwd, context: { allowAmbientCredentials: true, logger: { debug() {}, warn: (_o, m) => void warned.push(m) } } });
    expect(contextSeen()["ctx-allowed:push"]?.allowAmbientCredentials).toBe(true);
    contextSeen()["ctx-allowed:push"]?.logger.warn({}, "from the plugin");
    expect(warned).toEqual(["from the plugin"]);
  });

  it("prefers the working directory's copy, and falls back to the server's own location", async () => {
    const cwd = folder({ "dual-provider": pluginSource("from-cwd:push") });
    const server = folder({ "dual-provider": pluginSource("from-server:push"), "server-only": pluginSource("server-only:push") });
    const registry = await loadPlugins(["dual-provider", "server-only"], {}, { cwd, serverUrl: serverIn(server) });
    expect(registry.names()).toEqual(["ferry:managed", "from-cwd:push", "server-only:push"]);
  });

  it("resolves from the server's own install by default: core's fake provider", async () => {
    const registry = await loadPlugins(["@ferry/core/testing"], {}, { cwd: folder({}) });
    expect(registry.get("fake:push").plugin).toBe("@ferry/core/testing");
  });

  it("says how to install a module that is in neither place", async () => {
    const cwd = folder({});
    const error = await rejection(loadPlugins(["@acme/missing"], {}, { cwd, serverUrl: serverIn(folder({})) }));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe(`provider plugin '@acme/missing' is not installed: npm i @acme/missing in ${cwd} or beside the server, or remove it from FERRY_PROVIDERS`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ERR_MODULE_NOT_FOUND");
  });

  it("refuses a module that is not a plugin", async () => {
    const cwd = folder({ "not-a-plugin": "export const hello = 1;\nexport default { name: 'x' };\n" });
    const error = await rejection(loadPlugins(["not-a-plugin"], {}, { cwd }));
    expect(error.message).toMatch(/^module 'not-a-plugin' in FERRY_PROVIDERS is not a Ferry plugin: it must export a plugin with create\(\) as its default export or as 'ferryPlugin'/);
  });

  it("says which plugin's create() threw, keeping the cause", async () => {
    const cwd = folder({ "throws-on-create": "export default { name: 'x', create(o) { throw new Error(`endpoint is required, got ${JSON.stringify(o)}`); } };\n" });
    const error = await rejection(loadPlugins(["throws-on-create"], { "throws-on-create": { region: "r1" } }, { cwd }));
    expect(error.message).toBe(
      `provider plugin 'throws-on-create' could not start: its create() threw: endpoint is required, got {"region":"r1"}; check its options in FERRY_PROVIDER_OPTIONS`,
    );
    expect((error.cause as Error).message).toMatch(/endpoint is required/);
  });

  it("says which plugin failed to load when its module throws", async () => {
    const cwd = folder({ "broken-import": "throw new Error('needs a newer runtime');\n" });
    const error = await rejection(loadPlugins(["broken-import"], {}, { cwd }));
    expect(error.message).toMatch(/^provider plugin 'broken-import' \(file:.*broken-import\/index\.js\) failed to load: needs a newer runtime; reinstall it, or remove it from FERRY_PROVIDERS$/);
  });

  it("refuses a provider whose credentials type no plugin brings, naming the plugin", async () => {
    const cwd = folder({ "lacks-credentials": pluginSource("lacking:push").replace('credentialsType: null', 'credentialsType: "keypair"') });
    const error = await rejection(loadPlugins(["lacks-credentials"], {}, { cwd }));
    expect(isFerryError(error, "validation_failed")).toBe(true);
    expect(error.message).toMatch(/^plugin lacks-credentials: provider lacking:push needs credentials of type 'keypair', which no plugin registers/);
  });

  it("refuses two plugins that register one pool type", async () => {
    const cwd = folder({ "first-copy": pluginSource("same:push"), "second-copy": pluginSource("same:push") });
    const error = await rejection(loadPlugins(["first-copy", "second-copy"], {}, { cwd }));
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(/pool type 'same:push' is registered twice \(plugin second-copy\)/);
  });
});

describe("describePoolTypes", () => {
  it("names each pool type and where it came from", async () => {
    const registry = await loadPlugins(["@ferry/core/testing"], {}, { cwd: folder({}) });
    expect(describePoolTypes(registry)).toBe("fake:push (from @ferry/core/testing), ferry:managed (built in)");
  });

  it("says how to add a push pool type when the server has none, naming no provider", async () => {
    const registry = await loadPlugins([], {}, { cwd: folder({}) });
    expect(describePoolTypes(registry)).toBe(
      "ferry:managed (built in); no push pool types: install a provider package beside the server (npm i <package>) and name it in FERRY_PROVIDERS",
    );
  });
});
