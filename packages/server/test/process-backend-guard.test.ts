import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";

/**
 * The process backend runs flows as the server's own user: one user's machine, not tenants. The server
 * refuses it with a second workspace, at start and when one is created, unless the operator insists.
 */
describe("the process backend with more than one workspace", () => {
  let home: string;
  let server: RunningServer | undefined;

  const start = (env: Record<string, string>) =>
    startServer(parseServerConfig(env, { home, port: 0, databaseUrl: null, logLevel: "silent", providers: [] }), { logStream: process.stderr });
  const admin = (s: RunningServer) => new FerryClient({ apiUrl: s.url, adminToken: s.adminToken });

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "ferry-process-guard-"));
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(home, { recursive: true, force: true });
  });

  it("refuses to create a second workspace while managed runs run on the process backend", async () => {
    server = await start({ FERRY_RUNNER: "process" });
    const error = await rejection(admin(server).api.adminCreateWorkspace({ body: { name: "tenant-b" } }));
    expect(error).toMatchObject({ code: "conflict", status: 409 });
    expect(error.message).toMatch(/process backend, as its own user with no isolation, so it serves one workspace only: .*FERRY_ALLOW_SHARED_PROCESS_BACKEND=1/);
    expect((await admin(server).api.adminListWorkspaces()).items).toHaveLength(1);
  });

  it("refuses to start on the process backend when two workspaces exist, and says how to go on; starts when the operator insists", async () => {
    server = await start({ FERRY_RUNNER: "none" });
    await admin(server).api.adminCreateWorkspace({ body: { name: "tenant-b" } });
    await server.close();
    server = undefined;
    const error = await rejection(start({ FERRY_RUNNER: "process" }));
    expect(error).toMatchObject({ code: "validation_failed" });
    expect(error.message).toMatch(/as this server's user with no isolation, but 2 workspaces exist.*FERRY_RUNNER=docker.*FERRY_ALLOW_SHARED_PROCESS_BACKEND=1/);
    // Nothing was left half-open: the same home starts again, shared since the operator says so.
    server = await start({ FERRY_RUNNER: "process", FERRY_ALLOW_SHARED_PROCESS_BACKEND: "1" });
    expect(server.runnerDescription).toMatch(/process backend/);
    await admin(server).api.adminCreateWorkspace({ body: { name: "tenant-c" } });
    expect((await admin(server).api.adminListWorkspaces()).items).toHaveLength(3);
  });
});
