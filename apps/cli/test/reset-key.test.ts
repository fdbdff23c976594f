import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FerryClient, type CreatedApiKey } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, startServer, type CliOptions, type CliResult, type ServerProcess } from "./cli-harness.js";

// An operator on the server's host without a working key: `ferry server reset-key` against the real
// embedded store, and the keys it prints used against the real server afterwards.

let home: string;
let server: ServerProcess | undefined;
let blocker: Server;
const ferry = (args: string[], options: CliOptions = {}) => runFerry(args, { home, ...options, env: { FERRY_RUNNER: "none", ...options.env } });

function expectRefused(result: CliResult, code: number, message: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toEqual({ code, stderr: expect.stringMatching(message) });
}

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-reset-key-"));
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await new Promise((resolve) => blocker.close(resolve));
  await rm(home, { recursive: true, force: true });
});

describe("ferry server start on a busy port, then ferry server reset-key", () => {
  let adminToken: string;

  it("fails to start on a busy port, saying so, and creates no workspace; the next start prints the first key", async () => {
    const port = (blocker.address() as { port: number }).port;
    const busy = await ferry(["server", "start", "--port", String(port)]);
    expectRefused(busy, 5, new RegExp(`port ${port} on 127.0.0.1 is already in use; stop what listens there, or pick another port`));
    expect(busy.stdout).not.toMatch(/fy_/);

    // Nothing was made by the failed start (packages/server/test/keys.test.ts reads the store): this start makes the workspace.
    server = await startServer(home, 150_000, { FERRY_RUNNER: "none" });
    const firstKey = /Its first API key:\s+(fy_\S+)/.exec(server.output())?.[1];
    expect(firstKey, server.output()).toBeDefined();
    adminToken = (await readFile(join(home, "admin-token"), "utf8")).trim();
    const admin = new FerryClient({ apiUrl: server.url, adminToken });
    await admin.api.adminCreateWorkspace({ body: { name: "other" } });
  });

  it("refuses while the server has the embedded store open, saying to stop it", async () => {
    expectRefused(await ferry(["server", "reset-key", "--workspace", "default"]), 5, /the embedded store in .* is open in a running Ferry server: stop it/);
    expect(await server!.stop()).toBe(0);
  });

  it("issues new keys and a new operator token that work against the server, without the old ones", async () => {
    expectRefused(await ferry(["server", "reset-key"]), 2, /the store has 2 workspaces \(default, other\): name one with --workspace NAME/);

    const text = await ferry(["server", "reset-key", "--workspace", "default"]);
    expectOk(text);
    const defaultKey = /^\s+(fy_\S+)$/m.exec(text.stdout)?.[1];
    expect(defaultKey, text.stdout).toBeDefined();
    expect(text.stdout.split(defaultKey!).length - 1).toBe(1);

    const json = await ferry(["server", "reset-key", "--workspace", "other", "--json"]);
    expectOk(json);
    const otherKey = parseJson<CreatedApiKey>(json);
    expect(otherKey).toMatchObject({ name: "reset-key", key: expect.stringMatching(/^fy_/) });

    const admin = await ferry(["server", "reset-key", "--admin", "--json"]);
    expectOk(admin);
    const { admin_token: newAdminToken } = parseJson<{ admin_token: string; path: string }>(admin);
    expect(newAdminToken).not.toBe(adminToken);

    server = await startServer(home, 150_000, { FERRY_RUNNER: "none" });
    expect((await new FerryClient({ apiUrl: server.url, apiKey: defaultKey }).api.getWorkspace()).name).toBe("default");
    expect((await new FerryClient({ apiUrl: server.url, apiKey: otherKey.key }).api.getWorkspace()).name).toBe("other");
    expect((await new FerryClient({ apiUrl: server.url, adminToken: newAdminToken }).api.adminListWorkspaces()).items).toHaveLength(2);
    expect((await rejection(new FerryClient({ apiUrl: server.url, adminToken }).api.adminListWorkspaces())).code).toBe("unauthenticated");
  });
});
