import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient, type Deployment, type FlowRun } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";

/**
 * Warm engines on the process backend, with the real engine: after a pool's first run, an engine
 * waits for the next; that run takes it, completes, and is metered from the hand-off; pausing the
 * pool and stopping the server end the warm engines, leaving no process or directory behind. It sets
 * no FERRY_WARM_ENGINES: the default is what it checks.
 */
const FLOWS: Record<string, string> = {
  "flows/hello.py": `def hello(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("warm engines on the process backend", () => {
  let home: string;
  let repo: string;
  let server: RunningServer;
  let client: FerryClient;
  let deployment: Deployment;
  let closed = false;
  const runsDir = () => join(home, "runs");
  const warmDirs = () => (existsSync(runsDir()) ? readdirSync(runsDir()).filter((n) => n.startsWith("warm-")) : []);
  const warmPids = () =>
    warmDirs().flatMap((d) => {
      const file = join(runsDir(), d, "warm.json");
      if (!existsSync(file)) return [];
      const record = JSON.parse(readFileSync(file, "utf8")) as { supervisorPid: number; enginePid: number };
      return [record.supervisorPid, record.enginePid];
    });
  /** Created → the first line the flow printed, in seconds: printed for the record, never asserted (the bench's job). */
  const firstLineAfter = async (run: FlowRun) => {
    const line = (await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 200 } })).items.find((l) => l.source === "flow");
    return line ? ((Date.parse(line.timestamp) - Date.parse(run.created_at)) / 1000).toFixed(2) : "n/a";
  };
  const startedLine = async (run: FlowRun) =>
    (await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 200 } })).items.map((l) => l.message).find((m) => m.startsWith("Started on process")) ?? "";
  const runToEnd = async (parameters: Record<string, unknown> = {}) =>
    client.waitForRun((await client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters } })).flow_run.id, { signal: AbortSignal.timeout(120_000) });

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), "ferry-warm-repo-"));
    for (const [path, text] of Object.entries(FLOWS)) {
      mkdirSync(join(repo, path, ".."), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-qm", "flows");
    home = mkdtempSync(join(tmpdir(), "ferry-warm-"));
    server = await startServer(parseServerConfig({ FERRY_RUNNER: "process" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }), {
      logStream: process.stderr,
    });
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    deployment = (await client.api.applyDeployment({
      body: { flow_name: "warm", name: "hello", work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint: "flows/hello.py:hello" },
    })).deployment;
  }, 180_000); // the embedded store starts slowly on a loaded machine (55 s seen at load 29)

  afterAll(async () => {
    if (!closed) await server?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("starts the pool's first run cold, then hands the next one a warm engine that completes it, metered from the hand-off", async () => {
    expect(warmDirs()).toEqual([]);
    const first = await runToEnd({ name: "cold" });
    expect(first.state.type, first.state.message ?? "").toBe("COMPLETED");
    expect(await startedLine(first)).not.toMatch(/warm engine/);

    // A warm engine is made for the pool's next run, and waits.
    await expect.poll(() => warmPids().length, { timeout: 60_000 }).toBe(2);
    const waiting = warmDirs();
    await new Promise((resolve) => setTimeout(resolve, 4000));

    const second = await runToEnd({ name: "warm" });
    expect(second.state.type, second.state.message ?? "").toBe("COMPLETED");
    expect(second.result).toEqual({ greeting: "hello warm" });
    expect(await startedLine(second)).toMatch(/a warm engine/);
    console.info(`created → first flow line: cold ${await firstLineAfter(first)} s, warm ${await firstLineAfter(second)} s`);
    const timeline = (await client.api.listFlowRunLogs({ params: { id: second.id }, query: { limit: 200 } })).items
      .map((l) => `${((Date.parse(l.timestamp) - Date.parse(second.created_at)) / 1000).toFixed(3)} s [${l.source}] ${l.message.slice(0, 100)}`);
    console.info(`the warm run's log, from its creation:\n${timeline.join("\n")}`);
    const logs = (await client.api.listFlowRunLogs({ params: { id: second.id }, query: { limit: 200 } })).items;
    expect(logs.filter((l) => l.source === "flow").map((l) => l.message)).toContain("hello warm");
    // Its four seconds of waiting are nobody's compute time: only what ran after the hand-off is.
    const wall = (Date.parse(second.end_time!) - Date.parse(second.created_at)) / 1000;
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: second.id } })).compute_seconds, { timeout: 30_000 }).toBeGreaterThan(0);
    const metered = (await client.api.getFlowRun({ params: { id: second.id } })).compute_seconds;
    expect(metered).toBeLessThan(wall + 2.5);
    // The engine that ran it is gone from the warm ones (never reused), and a new one replaces it.
    await expect.poll(() => warmDirs().filter((d) => !waiting.includes(d)).length, { timeout: 60_000 }).toBe(1);
    expect(warmDirs().filter((d) => waiting.includes(d))).toEqual([]);
  }, 300_000);

  it("ends a paused pool's warm engines, and leaves none behind when the server stops", async () => {
    await expect.poll(() => warmPids().length, { timeout: 60_000 }).toBe(2);
    const pids = warmPids();
    await client.api.updateWorkPool({ params: { name: "managed" }, body: { paused: true } });
    await expect.poll(() => warmDirs().length, { timeout: 30_000 }).toBe(0);
    await expect.poll(() => pids.filter(alive).length, { timeout: 30_000 }).toBe(0);

    await client.api.updateWorkPool({ params: { name: "managed" }, body: { paused: false } });
    expect((await runToEnd({ name: "again" })).state.type).toBe("COMPLETED");
    await expect.poll(() => warmPids().length, { timeout: 60_000 }).toBe(2);
    const last = warmPids();
    closed = true;
    await server.close();
    expect(warmDirs()).toEqual([]);
    await expect.poll(() => last.filter(alive).length, { timeout: 30_000 }).toBe(0);
  }, 300_000);
});
