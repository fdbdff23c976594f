import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry, startServer, type ServerProcess } from "./cli-harness.js";
import { alive } from "../../../test-support/processes.js";

// `ferry server start` on the embedded PostgreSQL: the store is a child process of the server, which
// Ctrl+C (SIGINT, to the server alone) stops after the server has drained.

let home: string;
let server: ServerProcess | undefined;

const pidFile = () => join(home, "data", "postgres", "postmaster.pid");

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-epg-"));
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  if (existsSync(pidFile())) {
    const pid = Number(readFileSync(pidFile(), "utf8").split("\n")[0]);
    if (alive(pid)) process.kill(pid, "SIGQUIT");
  }
  await rm(home, { recursive: true, force: true });
});

describe("ferry server start with FERRY_STORE=embedded-postgres", () => {
  it("refuses a store it does not know, naming the choices", async () => {
    const result = await ferry(["server", "start", "--port", "0", "--store", "sqlite"], { home, env: { FERRY_RUNNER: "none" } });
    expect(result.code, result.stdout).not.toBe(0);
    expect(result.stderr).toMatch(/FERRY_STORE.*'sqlite' is not an embedded store: pglite or embedded-postgres/);
    expect(existsSync(join(home, "data"))).toBe(false);
  });

  it("serves from a PostgreSQL child process and stops it on Ctrl+C", async () => {
    server = await startServer(home, 60_000, { FERRY_STORE: "embedded-postgres" });
    expect(server.output()).toContain(`Store: embedded PostgreSQL at ${join(home, "data", "postgres")}`);
    const pid = Number(readFileSync(pidFile(), "utf8").split("\n")[0]);
    expect(alive(pid)).toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    expect(await server.stop()).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(pidFile())).toBe(false);
  });
});
