import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { expect, it } from "vitest";
import { parseServerConfig, startServer } from "../src/index.js";

it("logs what fails in the store with no caller to tell (here a notification handler that threw), and keeps serving", async () => {
  const home = mkdtempSync(join(tmpdir(), "ferry-store-errors-"));
  const lines: string[] = [];
  const logStream = new PassThrough();
  logStream.on("data", (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  const server = await startServer(parseServerConfig({}, { home, port: 0, databaseUrl: null, logLevel: "info", providers: [], runner: "none" }), { logStream });
  try {
    await server.store.subscribe("ferry_test_errors", () => {
      throw new Error("handler broke");
    });
    await server.store.publish("ferry_test_errors", "x");
    const deadline = Date.now() + 10_000;
    const logged = () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } }).find((l) => l.msg.includes("ferry_test_errors"));
    while (!logged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(logged()).toMatchObject({ level: 50, msg: expect.stringContaining("a subscriber of 'ferry_test_errors' threw") });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}, 180_000); // a server start on a loaded machine
