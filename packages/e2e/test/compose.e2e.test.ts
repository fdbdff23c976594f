import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { FlowRun } from "@ferry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, type CliResult } from "../../../apps/cli/test/cli-harness.js";
import { allOf, docker, dockerCompose } from "../../../test-support/services.js";
import { serveRepo, type ServedRepo } from "./support/git-server.js";

/**
 * deploy/compose.yaml as an operator runs it, with Debian's docker-compose: two servers behind the proxy
 * on one PostgreSQL, managed runs on this host's Docker. A flow runs through the proxy with the CLI; one
 * server is killed outright (`docker kill`); another flow still completes; the other server stops on
 * SIGTERM cleanly; `down -v` leaves nothing of the project behind. Images are the locally built ones (deploy/*\/build-image.sh), never pulled.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const COMPOSE_FILE = join(ROOT, "deploy/compose.yaml");
const PROJECT = `ferrycompose${randomBytes(4).toString("hex")}`;
const exec = promisify(execFile);

const FLOWS = {
  "flows/hello.py": `def main(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
};

const checks = allOf(await docker({ images: ["ferry-server:latest", "ferry-postgres:15", "ferry-engine:latest"] }), await dockerCompose());

let env: Record<string, string>;
let apiUrl: string;
let home: string;
let repo: ServedRepo | undefined;
let apiKey: string;
let workspaceId: string;
let brought = false;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "0.0.0.0", () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

function compose(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec("docker-compose", ["-p", PROJECT, "-f", COMPOSE_FILE, ...args], { env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 32 * 1024 * 1024 });
}

async function dockerLines(...args: string[]): Promise<string[]> {
  const { stdout } = await exec("docker", args);
  return stdout.split("\n").map((l) => l.trim()).filter(Boolean);
}

const ferry = (args: string[], extra: Record<string, string> = {}) =>
  runFerry(args, { home, cwd: repo?.dir, env: { FERRY_API_URL: apiUrl, ...(apiKey ? { FERRY_API_KEY: apiKey } : {}), ...extra } });

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

async function waitReady(timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    try {
      const res = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(3000) });
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const logs = await compose("logs", "--no-color", "--tail", "40").catch((e: Error) => ({ stdout: e.message }));
  throw new Error(`the proxy did not answer /readyz within ${timeoutMs} ms (${last}):\n${logs.stdout}`);
}

describe("deploy/compose.yaml: two servers behind a proxy, one killed", checks, () => {
  beforeAll(async () => {
    const port = await freePort();
    env = {
      POSTGRES_PASSWORD: randomBytes(12).toString("hex"),
      FERRY_SECRET_KEY: randomBytes(32).toString("base64"),
      FERRY_ADMIN_TOKEN: `fa_${randomBytes(24).toString("hex")}`,
      DOCKER_GID: String(statSync("/var/run/docker.sock").gid),
      FERRY_PROXY_PORT: String(port),
      FERRY_SWEEP_INTERVAL_MS: "500",
      FERRY_LOG_LEVEL: "warn",
    };
    apiUrl = `http://127.0.0.1:${port}`;
    home = await mkdtemp(join(tmpdir(), "ferry-compose-home-"));
    // Runs' containers clone it from the host, as they reach the proxy.
    repo = await serveRepo(FLOWS, "flows.git", { host: "0.0.0.0", urlHost: "host.docker.internal" });
    brought = true;
    await compose("up", "-d");
    await waitReady(120_000);
  });

  afterAll(async () => {
    try {
      if (brought) {
        await compose("down", "-v", "--remove-orphans", "--timeout", "5");
        // The runner's dependency caches are the workspace's, made by the servers, not by compose: removed here.
        if (workspaceId) {
          const caches = await dockerLines("volume", "ls", "-q", "--filter", `name=ferry-cache-ws-${workspaceId}`);
          if (caches.length) await exec("docker", ["volume", "rm", ...caches]);
        }
        const label = `label=com.docker.compose.project=${PROJECT}`;
        expect(await dockerLines("ps", "-aq", "--filter", label)).toEqual([]);
        expect(await dockerLines("volume", "ls", "-q", "--filter", label)).toEqual([]);
        expect(await dockerLines("network", "ls", "-q", "--filter", label)).toEqual([]);
      }
    } finally {
      await repo?.close();
      if (home) await rm(home, { recursive: true, force: true });
    }
  });

  it("runs a flow through the proxy, and another after one server is killed", async () => {
    // The operator's token makes a workspace and its first key, through the proxy.
    const created = await ferry(["admin", "workspace", "create", "compose", "--json"], { FERRY_ADMIN_TOKEN: env.FERRY_ADMIN_TOKEN! });
    expectOk(created);
    const made = parseJson<{ workspace: { id: string }; api_key: { key: string } }>(created);
    apiKey = made.api_key.key;
    workspaceId = made.workspace.id;

    expectOk(await ferry(["work-pool", "create", "managed", "--type", "ferry:managed"]));
    expectOk(await ferry(["deploy", "--name", "hello", "--entrypoint", "flows/hello.py:main", "--pool", "managed", "--git-url", repo!.url, "--branch", "main"]));

    const first = await ferry(["deployment", "run", "main/hello", "--param", "name=compose", "--watch"]);
    expectOk(first);
    expect(first.stdout).toContain("hello compose");

    const [server1] = await dockerLines("ps", "-q", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", "label=com.docker.compose.service=server-1");
    expect(server1).toBeTruthy();
    await exec("docker", ["kill", server1!]);

    const second = await ferry(["deployment", "run", "main/hello", "--param", "name=again", "--watch"]);
    expectOk(second);
    const runs = parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--json"]));
    expect(runs.map((r) => r.state.type)).toEqual(["COMPLETED", "COMPLETED"]);

    // SIGTERM (docker stop) reaches the server as PID 1 of its image, which drains and exits 0 in time.
    const [server2] = await dockerLines("ps", "-q", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", "label=com.docker.compose.service=server-2");
    await exec("docker", ["stop", "--time", "30", server2!]);
    expect((await dockerLines("inspect", "--format", "{{.State.ExitCode}}", server2!))[0]).toBe("0");
    const logs = await exec("docker", ["logs", server2!]);
    const said = `${logs.stdout}${logs.stderr}`;
    expect(said).toContain("Received SIGTERM; stopping");
    expect(said).toContain("Stopped.");
  });
});
