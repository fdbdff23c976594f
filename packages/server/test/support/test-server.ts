import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { FerryClient, plainField, PoolTypeRegistry, secretField, type CredentialType } from "@ferry/core";
import { FakeComputeProvider, FakeRunnerBackend } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "./databases.js";

/** A credentials type of the tests' own: a key id in clear and its secret. */
export const KEYPAIR_CREDENTIALS: CredentialType = {
  type: "keypair",
  description: "A key id and its secret, for the keyed:push test platform",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["key_id", "secret_key"],
    properties: {
      key_id: plainField("Key id"),
      secret_key: secretField("The key's secret"),
      region: plainField("Region"),
    },
  },
};

/** The plugin name the keyed:push provider and the keypair credentials type are registered under. */
export const KEYED_PLUGIN = "@acme/keyed-provider";

/** A registry as a server would load it: core's fake provider, and a plugin bringing a provider that needs keypair credentials. */
export function testRegistry(provider: FakeComputeProvider, keyed: FakeComputeProvider): PoolTypeRegistry {
  const registry = new PoolTypeRegistry();
  registry.registerPlugin("@ferry/core/testing", { providers: [provider] });
  registry.registerPlugin(KEYED_PLUGIN, { credentialTypes: [KEYPAIR_CREDENTIALS], providers: [keyed] });
  return registry;
}

export interface TestServer {
  server: RunningServer;
  /** `fake:push`: takes no credentials. */
  provider: FakeComputeProvider;
  /** `keyed:push`: needs keypair credentials. */
  keyed: FakeComputeProvider;
  runner: FakeRunnerBackend;
  /** Client with the bootstrap workspace's key. */
  client: FerryClient;
  admin: FerryClient;
  home: string;
  /** Every log line the server wrote. */
  logs(): string;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  runner?: FakeRunnerBackend;
  /** How often the dispatchers sweep; default: once in ten minutes, so a test sees only the wake-ups unless it sweeps. */
  sweepIntervalMs?: number;
  /**
   * Warm engines per managed pool (FERRY_WARM_ENGINES); default 0, unlike the server's: a test not about
   * them should not pay for engines waiting (the warm tests and the end-to-end ones run the default).
   */
  warmEngines?: number;
  /** FERRY_OIDC_ALLOW_HTTP_ISSUERS: a local test issuer over http. */
  oidcAllowHttpIssuers?: boolean;
  /** The server's clock; default the real one. */
  now?: () => Date;
  /** Cooldown between fetches of an OIDC issuer's keys (default the server's, 30 s). */
  oidcKeysCooldownMs?: number;
}

/** A real server over HTTP on a free port, with the fake provider registered as `fake:push` and `keyed:push`. */
export async function startTestServer(kind: StoreKind, options: TestServerOptions = {}): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), "ferry-test-"));
  const db = kind === "postgres" ? await freshDatabase() : null;
  const provider = new FakeComputeProvider();
  const keyed = new FakeComputeProvider({ type: "keyed:push", credentialsType: KEYPAIR_CREDENTIALS.type });
  const logLines: string[] = [];
  const logStream = new PassThrough();
  logStream.on("data", (chunk: Buffer) => logLines.push(chunk.toString("utf8")));
  const config = parseServerConfig({}, {
    home,
    port: 0,
    databaseUrl: db?.url ?? null,
    // kind "pglite" means PGlite, not whatever the server's default embedded store is.
    ...(db ? {} : { store: "pglite" as const }),
    logLevel: "info",
    providers: [],
    sweepIntervalMs: options.sweepIntervalMs ?? 600_000,
    warmEngines: { perPool: options.warmEngines ?? 0 },
    ...(options.oidcAllowHttpIssuers ? { oidcAllowHttpIssuers: true } : {}),
  });
  const runner = options.runner ?? new FakeRunnerBackend();
  const server = await startServer(config, { registry: testRegistry(provider, keyed), logStream, runner, now: options.now, oidcKeysCooldownMs: options.oidcKeysCooldownMs });
  if (!server.bootstrap) throw new Error("a new store must bootstrap a workspace");
  const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap.apiKey });
  const admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
  return {
    server,
    provider,
    keyed,
    runner,
    client,
    admin,
    home,
    logs: () => logLines.join(""),
    async stop() {
      await server.close();
      provider.dispose();
      keyed.dispose();
      runner.dispose();
      await db?.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
