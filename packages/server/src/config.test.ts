import { describe, expect, it } from "vitest";
import { rejection } from "@ferry/core/testing";
import { parseServerConfig } from "./config.js";

const parse = (env: Record<string, string>) => parseServerConfig({ FERRY_HOME: "/tmp/ferry-config-test", ...env });
const refusal = (env: Record<string, string>) =>
  rejection(
    (async () => {
      parse(env);
    })(),
  );

describe("parseServerConfig: provider plugins", () => {
  it("keeps push pools off the server's own cloud identity unless FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1", async () => {
    expect(parse({}).allowAmbientCloudCredentials).toBe(false);
    expect(parse({ FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS: "0" }).allowAmbientCloudCredentials).toBe(false);
    expect(parse({ FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS: "1" }).allowAmbientCloudCredentials).toBe(true);
    const error = await refusal({ FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS: "yes" });
    expect((error as { details: { issues: { path: string }[] } }).details.issues.map((i) => i.path)).toEqual(["FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS"]);
  });

  it("loads no plugin unless FERRY_PROVIDERS names one: the server then serves only ferry:managed", () => {
    const config = parse({});
    expect(config.providers).toEqual([]);
    expect(config.providerOptions).toEqual({});
  });

  it("takes the listed modules in order, with each one's options, and resolves them from the working directory first", () => {
    const config = parseServerConfig(
      { FERRY_PROVIDERS: " @acme/ferry-provider , other-provider,", FERRY_PROVIDER_OPTIONS: '{"other-provider": {"endpoint": "http://127.0.0.1:9"}}' },
      { home: "/tmp/x", pluginDir: "/srv/ferry" },
    );
    expect(config.providers).toEqual(["@acme/ferry-provider", "other-provider"]);
    expect(config.providerOptions).toEqual({ "other-provider": { endpoint: "http://127.0.0.1:9" } });
    expect(config.pluginDir).toBe("/srv/ferry");
    expect(parse({}).pluginDir).toBe(process.cwd());
  });

  it("refuses a module listed twice, options for a module not listed, and options that are not JSON objects, all at once", async () => {
    const error = await refusal({
      FERRY_PROVIDERS: "a,b,a",
      FERRY_PROVIDER_OPTIONS: '{"c": {}, "b": [1]}',
    });
    expect(error.code).toBe("validation_failed");
    expect(error.details).toEqual({ issues: [
      { path: "FERRY_PROVIDERS", message: "names a more than once; list each provider module once" },
      { path: "FERRY_PROVIDER_OPTIONS", message: "has options for 'c', which is not in FERRY_PROVIDERS (a, b, a)" },
      { path: "FERRY_PROVIDER_OPTIONS", message: "options of 'b' must be a JSON object" },
    ] });
  });

  it("shows a neutral example when FERRY_PROVIDER_OPTIONS is not JSON", async () => {
    const error = await refusal({ FERRY_PROVIDERS: "a", FERRY_PROVIDER_OPTIONS: "endpoint=x" });
    expect(error.details).toEqual({ issues: [
      { path: "FERRY_PROVIDER_OPTIONS", message: 'must be a JSON object keyed by plugin module, e.g. {"@acme/ferry-provider": {"endpoint": "…"}}' },
    ] });
  });
});

describe("parseServerConfig: the dispatchers' sweep", () => {
  it("re-reads pending work every 2 s unless FERRY_SWEEP_INTERVAL_MS says otherwise", () => {
    expect(parse({}).sweepIntervalMs).toBe(2000);
    expect(parse({ FERRY_SWEEP_INTERVAL_MS: "250" }).sweepIntervalMs).toBe(250);
    expect(parseServerConfig({}, { home: "/tmp/x", sweepIntervalMs: 20 }).sweepIntervalMs).toBe(20);
  });

  it("refuses an interval that is not a sensible number of milliseconds", async () => {
    for (const value of ["soon", "0", "1.5", "900000"]) {
      const error = await refusal({ FERRY_SWEEP_INTERVAL_MS: value });
      expect(error.details).toEqual({ issues: [{ path: "FERRY_SWEEP_INTERVAL_MS", message: `'${value}' is not a number of milliseconds between 10 and 600000` }] });
    }
  });
});

describe("parseServerConfig: managed runs' isolation", () => {
  it("puts containers on the isolated network, under Docker's default runtime, with no firewall and no shared process backend, by default", () => {
    expect(parse({})).toMatchObject({ runnerNetwork: "isolated", runnerNetworkName: "ferry-runs", runnerRuntime: null, runnerFirewall: "none", allowSharedProcessBackend: false });
    expect(parse({ FERRY_RUNNER_RUNTIME: "runsc", FERRY_RUNNER_FIREWALL: "iptables", FERRY_ALLOW_SHARED_PROCESS_BACKEND: "1" })).toMatchObject({
      runnerRuntime: "runsc",
      runnerFirewall: "iptables",
      allowSharedProcessBackend: true,
    });
  });

  it("refuses settings that cannot hold together, naming each variable", async () => {
    const error = await refusal({ FERRY_RUNNER: "process", FERRY_RUNNER_RUNTIME: "runsc", FERRY_RUNNER_NETWORK: "host", FERRY_RUNNER_FIREWALL: "iptables", FERRY_ALLOW_SHARED_PROCESS_BACKEND: "yes" });
    expect((error.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      "FERRY_RUNNER_RUNTIME",
      "FERRY_RUNNER_FIREWALL",
      "FERRY_ALLOW_SHARED_PROCESS_BACKEND",
    ]);
    expect(error.message).toMatch(/^the server configuration is invalid: .*FERRY_RUNNER=docker/);
    expect((await refusal({ FERRY_RUNNER_NETWORK: "overlay" })).details).toEqual({ issues: [{ path: "FERRY_RUNNER_NETWORK", message: "must be isolated (runs cannot reach each other), bridge or host" }] });
  });
});

describe("parseServerConfig: the embedded store", () => {
  it("is the embedded PostgreSQL unless FERRY_STORE says pglite; an unknown one, or embedded-postgres beside FERRY_DATABASE_URL, is refused", async () => {
    expect(parse({}).store).toBe("embedded-postgres");
    expect(parse({ FERRY_STORE: "pglite" }).store).toBe("pglite");
    expect(parseServerConfig({}, { store: "pglite" }).store).toBe("pglite");
    expect(parse({ FERRY_STORE: "embedded-postgres" }).store).toBe("embedded-postgres");
    expect(parseServerConfig({ FERRY_STORE: "pglite" }, { store: "embedded-postgres" }).store).toBe("embedded-postgres");
    expect((await refusal({ FERRY_STORE: "sqlite" })).details).toEqual({
      issues: [{ path: "FERRY_STORE", message: "'sqlite' is not an embedded store: pglite or embedded-postgres (PostgreSQL of your own: FERRY_DATABASE_URL)" }],
    });
    expect((await refusal({ FERRY_STORE: "embedded-postgres", FERRY_DATABASE_URL: "postgres://ferry@db/ferry" })).details).toEqual({
      issues: [{ path: "FERRY_STORE", message: "embedded-postgres is an embedded store, but FERRY_DATABASE_URL is set too; unset one of them" }],
    });
    // The default store beside a URL is no contradiction: the URL wins. Nor is FERRY_STORE=pglite, the default before.
    expect(parse({ FERRY_DATABASE_URL: "postgres://ferry@db/ferry" }).databaseUrl).toBe("postgres://ferry@db/ferry");
    expect(parse({ FERRY_STORE: "pglite", FERRY_DATABASE_URL: "postgres://ferry@db/ferry" }).databaseUrl).toBe("postgres://ferry@db/ferry");
  });
});

describe("parseServerConfig: warm engines", () => {
  it("keeps one warm engine per managed pool and 8 in all unless FERRY_WARM_ENGINES(_MAX) say otherwise; 0 turns them off", () => {
    expect(parse({}).warmEngines).toEqual({ perPool: 1, max: 8 });
    expect(parse({ FERRY_WARM_ENGINES: "1" }).warmEngines).toEqual({ perPool: 1, max: 8 });
    expect(parse({ FERRY_WARM_ENGINES: "0" }).warmEngines).toEqual({ perPool: 0, max: 8 });
    expect(parse({ FERRY_WARM_ENGINES: "3", FERRY_WARM_ENGINES_MAX: "20" }).warmEngines).toEqual({ perPool: 3, max: 20 });
    expect(parseServerConfig({}, { home: "/tmp/x", warmEngines: { perPool: 0 } }).warmEngines).toEqual({ perPool: 0, max: 8 });
  });

  it("refuses what is not a whole number in range, and more per pool than in all, naming the fix", async () => {
    for (const value of ["-1", "two", "1.5", "17"]) {
      const error = await refusal({ FERRY_WARM_ENGINES: value });
      expect(error.details).toEqual({ issues: [{ path: "FERRY_WARM_ENGINES", message: `'${value}' is not a whole number from 0 to 16` }] });
    }
    const error = await refusal({ FERRY_WARM_ENGINES: "4", FERRY_WARM_ENGINES_MAX: "2" });
    expect(error.details).toEqual({
      issues: [{ path: "FERRY_WARM_ENGINES", message: "4 per pool is more than FERRY_WARM_ENGINES_MAX (2) in all; raise FERRY_WARM_ENGINES_MAX or lower FERRY_WARM_ENGINES" }],
    });
  });
});

describe("parseServerConfig: the Kubernetes backend", () => {
  it("reads its namespace, kubeconfig (FERRY_KUBERNETES_KUBECONFIG before KUBECONFIG), runtime class and cache", () => {
    expect(parse({ FERRY_RUNNER: "kubernetes", FERRY_KUBERNETES_NAMESPACE: "ferry-runs", KUBECONFIG: "/k/config" }).kubernetes).toEqual({
      namespace: "ferry-runs", kubeconfigPath: "/k/config", runtimeClassName: null, cache: "claim", storageClassName: null,
    });
    expect(parse({ FERRY_RUNNER: "kubernetes", FERRY_KUBERNETES_NAMESPACE: "runs", FERRY_KUBERNETES_KUBECONFIG: "/mine", KUBECONFIG: "/k/config", FERRY_KUBERNETES_RUNTIME_CLASS: "gvisor", FERRY_KUBERNETES_STORAGE_CLASS: "fast" }).kubernetes).toMatchObject({
      kubeconfigPath: "/mine", runtimeClassName: "gvisor", storageClassName: "fast",
    });
    expect(parse({}).kubernetes).toBeNull();
  });

  it("needs a namespace, and refuses its variables without FERRY_RUNNER=kubernetes", async () => {
    const paths = async (env: Record<string, string>) => ((await refusal(env)).details as { issues: { path: string; message: string }[] }).issues;
    expect(await paths({ FERRY_RUNNER: "kubernetes" })).toEqual([{ path: "FERRY_KUBERNETES_NAMESPACE", message: expect.stringContaining("is required with FERRY_RUNNER=kubernetes") }]);
    expect(await paths({ FERRY_KUBERNETES_NAMESPACE: "runs" })).toEqual([{ path: "FERRY_KUBERNETES_NAMESPACE", message: expect.stringContaining("set FERRY_RUNNER=kubernetes") }]);
    expect((await paths({ FERRY_RUNNER: "kubernetes", FERRY_KUBERNETES_NAMESPACE: "runs", FERRY_RUNNER_RUNTIME: "runsc", FERRY_KUBERNETES_CACHE: "disk" })).map((i) => i.path)).toEqual(["FERRY_KUBERNETES_CACHE", "FERRY_RUNNER_RUNTIME"]);
  });
});
