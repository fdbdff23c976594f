import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer } from "../src/index.js";
import { keysSuite } from "./suites/keys.js";

// The same suite on PostgreSQL is keys.e2e.test.ts.
describe("run tokens, bootstrap tokens and API keys on PGlite", () => keysSuite("pglite"));

const config = (home: string, port = 0) =>
  parseServerConfig({}, { home, port, logLevel: "warn", providers: [], sweepIntervalMs: 600_000 });

describe("first start", () => {
  let home: string;
  let blocker: Server;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-keys-"));
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  it("on a busy port fails with a clear error and creates nothing; the next start creates the workspace and its key", async () => {
    const port = (blocker.address() as { port: number }).port;
    const busy = await rejection(startServer(config(home, port), { registry: new PoolTypeRegistry(), runner: null }));
    expect(busy.code).toBe("conflict");
    expect(busy.message).toBe(`port ${port} on 127.0.0.1 is already in use; stop what listens there, or pick another port (--port, FERRY_PORT; 0 picks a free one)`);

    const server = await startServer(config(home), { registry: new PoolTypeRegistry(), runner: null });
    try {
      // A start makes the first workspace only on a store with none: the failed start made nothing.
      expect(server.bootstrap?.apiKey).toMatch(/^fy_/);
      expect(await server.store.countWorkspaces()).toBe(1);
      const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
      expect((await client.api.getWorkspace()).name).toBe("default");
    } finally {
      await server.close();
    }
  });
});
