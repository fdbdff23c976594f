import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient, type Deployment } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";

/**
 * Managed execution on a machine without Docker: the real engine as a supervised child process of the
 * server, code cloned from a git repository. (Docker has its own file; this backend isolates nothing.)
 */
const FLOWS: Record<string, string> = {
  "flows/hello.py": `import logging

def hello(name: str = "world"):
    logging.getLogger("hello").info("greeting %s", name)
    return {"greeting": f"hello {name}"}
`,
  "flows/hello.ts": `import { shout } from "./lib.js";

export async function hello(params: { name?: string } = {}) {
  const text = shout(params.name ?? "world");
  console.log(text);
  return { text };
}
`,
  "flows/lib.ts": `export const shout = (s: string): string => s.toUpperCase() + "!";
`,
  "flows/sleepy.py": `import time

def main():
    print("sleeping", flush=True)
    time.sleep(600)
`,
};

describe("managed execution with the process backend", () => {
  let home: string;
  let repo: string;
  let server: RunningServer;
  let client: FerryClient;

  const deploy = async (name: string, entrypoint: string): Promise<Deployment> =>
    (
      await client.api.applyDeployment({
        body: { flow_name: "local", name, work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint },
      })
    ).deployment;
  const run = async (d: Deployment, parameters: Record<string, unknown> = {}) =>
    (await client.api.createFlowRun({ params: { id: d.id }, body: { parameters } })).flow_run;

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), "ferry-process-repo-"));
    for (const [path, text] of Object.entries(FLOWS)) {
      mkdirSync(join(repo, path, ".."), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-qm", "flows");
    home = mkdtempSync(join(tmpdir(), "ferry-process-"));
    server = await startServer(parseServerConfig({ FERRY_RUNNER: "process" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }), {
      logStream: process.stderr,
    });
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("says it uses the process backend and that it isolates nothing", () => {
    expect(server.runnerDescription).toMatch(/process backend.*no isolation/);
  });

  it("runs a Python flow and a TypeScript flow that imports a local module to COMPLETED with their results and logs", async () => {
    const py = await client.waitForRun((await run(await deploy("py", "flows/hello.py:hello"), { name: "ferry" })).id);
    expect(py.state.type, py.state.message ?? "").toBe("COMPLETED");
    expect(py.result).toEqual({ greeting: "hello ferry" });
    const pyLogs = (await client.api.listFlowRunLogs({ params: { id: py.id } })).items.map((l) => l.message).join("\n");
    expect(pyLogs).toMatch(/greeting ferry/);
    expect(py.infrastructure_id).toMatch(/^process:/);

    const ts = await client.waitForRun((await run(await deploy("ts", "flows/hello.ts:hello"), { name: "ferry" })).id);
    expect(ts.state.type, ts.state.message ?? "").toBe("COMPLETED");
    expect(ts.result).toEqual({ text: "FERRY!" });
  }, 120_000);

  it("crashes a run whose entrypoint function does not exist, naming it", async () => {
    const r = await client.waitForRun((await run(await deploy("missing", "flows/hello.py:nope"))).id);
    expect(r.state.type).toBe("CRASHED");
    expect(r.state.message).toMatch(/nope/);
  }, 60_000);

  it("cancels a running process run", async () => {
    const created = await run(await deploy("sleepy", "flows/sleepy.py:main"));
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: created.id } })).state.type, { timeout: 60_000 }).toBe("RUNNING");
    await client.api.cancelFlowRun({ params: { id: created.id }, body: {} });
    expect((await client.waitForRun(created.id)).state.type).toBe("CANCELLED");
  }, 90_000);
});
