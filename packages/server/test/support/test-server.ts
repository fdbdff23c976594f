import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { FerryClient, PoolTypeRegistry } from "@ferry/core";
import { FakeComputeProvider, FakeRunnerBackend } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "./databases.js";

export interface TestServer {
  server: RunningServer;
  provider: FakeComputeProvider;
  runner: FakeRunnerBackend;
  /** Client with the bootstrap workspace's key. */
  client: FerryClient;
  admin: FerryClient;
  home: string;
  /** Every log line the server wrote. */
  logs(): string;
  stop(): Promise<void>;
}

/** A real server over HTTP on a free port, with the fake provider registered as `fake:push`. */
export async function startTestServer(kind: StoreKind, options: { runner?: FakeRunnerBackend } = {}): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), "ferry-test-"));
  const db = kind === "postgres" ? await freshDatabase() : null;
  const provider = new FakeComputeProvider();
  const registry = new PoolTypeRegistry();
  registry.registerProvider(provider);
  const logLines: string[] = [];
  const logStream = new PassThrough();
  logStream.on("data", (chunk: Buffer) => logLines.push(chunk.toString("utf8")));
  const config = parseServerConfig({}, { home, port: 0, databaseUrl: db?.url ?? null, logLevel: "info", providers: [] });
  const runner = options.runner ?? new FakeRunnerBackend();
  const server = await startServer(config, { registry, logStream, runner });
  if (!server.bootstrap) throw new Error("a new store must bootstrap a workspace");
  const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap.apiKey });
  const admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
  return {
    server,
    provider,
    runner,
    client,
    admin,
    home,
    logs: () => logLines.join(""),
    async stop() {
      await server.close();
      provider.dispose();
      runner.dispose();
      await db?.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
