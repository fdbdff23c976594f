// A Ferry server in a process of its own for the multi-server bench (servers-bench.ts): started the way
// `ferry server start` does, on the PostgreSQL database FERRY_DATABASE_URL names, with the instant timed
// fake provider, and driven over IPC: it answers `submits` with when its provider first saw each run,
// and `close` by closing the server (as SIGTERM would) and exiting.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PoolTypeRegistry } from "@ferry/core";
import { parseServerConfig, startServer } from "@ferry/server";
import { TimedFakeProvider } from "./timed-fake-provider.js";

export type ServerProcessRequest = { kind: "submits" } | { kind: "close" };
export type ServerProcessMessage =
  | { kind: "started"; url: string; apiKey: string | null }
  | { kind: "submits"; submits: [string, number][] }
  | { kind: "closed" };

const send = (message: ServerProcessMessage) => process.send!(message);
const home = mkdtempSync(join(tmpdir(), "ferry-bench-server-"));
const provider = new TimedFakeProvider();
const registry = new PoolTypeRegistry();
registry.registerProvider(provider);
const config = parseServerConfig({}, { home, port: 0, databaseUrl: process.env.FERRY_DATABASE_URL ?? null, logLevel: "warn", providers: [] });
const server = await startServer(config, { registry, runner: null, logStream: process.stderr });
send({ kind: "started", url: server.url, apiKey: server.bootstrap?.apiKey ?? null });

process.on("message", (request: ServerProcessRequest) => {
  if (request.kind === "submits") send({ kind: "submits", submits: [...provider.submittedAt] });
  else {
    void server.close().finally(() => {
      provider.dispose();
      rmSync(home, { recursive: true, force: true });
      send({ kind: "closed" });
      process.disconnect();
    });
  }
});
