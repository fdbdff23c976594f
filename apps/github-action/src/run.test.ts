import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FerryClient } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { parseOutputFile } from "../test/action-harness.js";

/**
 * run() in-process, as @github/local-action calls it: inputs and the GitHub context from the environment,
 * a real Ferry server (no runner: runs stay queued) and a small fake of GitHub's REST API.
 */
interface Comment { id: number; body: string }
const comments: Comment[] = [];
const githubCalls: string[] = [];

function fakeGitHub(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      githubCalls.push(`${req.method} ${req.url?.split("?")[0]}`);
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && req.url?.startsWith("/repos/owner/repo/issues/7/comments")) return res.end(JSON.stringify(comments));
      if (req.method === "POST" && req.url === "/repos/owner/repo/issues/7/comments") {
        const c = { id: comments.length + 1, body: (JSON.parse(body) as { body: string }).body };
        comments.push(c);
        res.statusCode = 201;
        return res.end(JSON.stringify(c));
      }
      const m = /^\/repos\/owner\/repo\/issues\/comments\/(\d+)$/.exec(req.url ?? "");
      if (req.method === "PATCH" && m) {
        const c = comments.find((x) => x.id === Number(m[1]))!;
        c.body = (JSON.parse(body) as { body: string }).body;
        return res.end(JSON.stringify(c));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ message: "Not Found" }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

let home: string;
let workspace: string;
let ferry: RunningServer;
let github: Server;
let client: FerryClient;
let run: () => Promise<void>;
let step: { dir: string; output: string; stdout: string };
// @actions/core's summary keeps the first path it sees: one file for the whole suite, emptied per test.
let summaryFile: string;
const SHA = "0123456789abcdef0123456789abcdef01234567";

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "ferry-action-unit-"));
  workspace = mkdtempSync(join(tmpdir(), "ferry-action-ws-"));
  summaryFile = join(workspace, "summary.md");
  writeFileSync(join(workspace, "ferry.yaml"), "deployments:\n  - { name: ok, flow_name: hello, entrypoint: flows/hello.py:hello, work_pool: { name: managed } }\n");
  const event = join(workspace, "event.json");
  writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
  github = await fakeGitHub();
  // @actions/github reads its context once, when first imported.
  Object.assign(process.env, {
    GITHUB_REPOSITORY: "owner/repo", GITHUB_SHA: SHA, GITHUB_SERVER_URL: "https://github.com", GITHUB_WORKSPACE: workspace,
    GITHUB_RUN_ID: "42", GITHUB_RUN_ATTEMPT: "1", GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: event,
    GITHUB_API_URL: `http://127.0.0.1:${(github.address() as AddressInfo).port}`,
  });
  ferry = await startServer(parseServerConfig({ FERRY_RUNNER: "none" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }));
  client = new FerryClient({ apiUrl: ferry.url, apiKey: ferry.bootstrap!.apiKey });
  await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  ({ run } = await import("./run.js"));
});

afterAll(async () => {
  await ferry?.close();
  github?.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(workspace, { recursive: true, force: true });
});

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-action-step-"));
  step = { dir, output: join(dir, "output"), stdout: "" };
  writeFileSync(step.output, "");
  writeFileSync(summaryFile, "");
  process.env.GITHUB_OUTPUT = step.output;
  process.env.GITHUB_STEP_SUMMARY = summaryFile;
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    step.stdout += chunk.toString();
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const k of Object.keys(process.env)) if (k.startsWith("INPUT_")) delete process.env[k];
  process.exitCode = undefined;
  rmSync(step.dir, { recursive: true, force: true });
});

async function runWith(inputs: Record<string, string>) {
  for (const [k, v] of Object.entries({ "api-url": ferry.url, "api-key": ferry.bootstrap!.apiKey, ...inputs })) process.env[`INPUT_${k.toUpperCase()}`] = v;
  await run();
  return { outputs: parseOutputFile(readFileSync(step.output, "utf8")), summary: readFileSync(summaryFile, "utf8"), stdout: step.stdout, failed: process.exitCode === 1 };
}

describe("run()", () => {
  it("deploys pinned to the commit, and never stores github-token on the server (it would outlive the job)", async () => {
    const r = await runWith({ command: "deploy", "github-token": "ghs_secret" });
    expect(r.failed, r.stdout).toBe(false);
    const [id] = JSON.parse(r.outputs["deployment-ids"]!) as string[];
    const d = await client.api.getDeployment({ params: { id: id! } });
    expect(d.source).toMatchObject({ git_url: "https://github.com/owner/repo", commit: SHA, credentials: null });
    // A pull_request event (this suite's): the deployment is new, so it is the pull request's own.
    expect(d.tags).toContain("github-pr:owner/repo#7");
    expect((await client.api.listCredentials()).items).toEqual([]);
    expect(r.stdout).toMatch(/::warning::input 'github-token' is not stored on the Ferry server/);
    expect(r.stdout).toContain("::add-mask::ghs_secret");
    expect(r.stdout.replace(/^::add-mask::.*$/gm, "")).not.toMatch(/ghs_secret|fy_/);
    expect(r.summary).toMatch(/Ferry deploy/);
  });

  it("starts a run without waiting, comments on the pull request, and edits that comment the next time", async () => {
    const first = await runWith({ command: "run", deployment: "hello/ok", wait: "false", parameters: '{"name": "ferry"}', "github-token": "ghs_secret" });
    expect(first.failed, first.stdout).toBe(false);
    const id = first.outputs["flow-run-id"]!;
    expect(first.outputs["flow-run-url"]).toBe(`${ferry.url}/runs/${id}`);
    expect((await client.api.getFlowRun({ params: { id } })).parameters).toEqual({ name: "ferry" });
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain("<!-- ferry:hello/ok -->");

    const second = await runWith({ command: "run", deployment: "hello/ok", wait: "false", parameters: "name: ferry", "github-token": "ghs_secret" });
    expect(second.outputs["flow-run-id"]).toBe(id); // the same job asking for the same run: that run
    expect(comments).toHaveLength(1);
    expect(githubCalls).toContain("PATCH /repos/owner/repo/issues/comments/1");
  });

  it("cancels the run and fails the step naming 'timeout' when the run outlasts it", async () => {
    const r = await runWith({ command: "run", deployment: "hello/ok", timeout: "1" });
    expect(r.failed).toBe(true);
    expect(r.outputs.state).toBe("CANCELLED");
    expect(r.stdout).toMatch(/::error::flow run .* did not finish within 1 s and was cancelled .*input 'timeout'/);
    expect(r.summary).toMatch(/TIMED_OUT/);
  });

  it("with new-run-per-attempt, a re-run of the workflow starts a new run; without, it gets the first attempt's", async () => {
    const first = await runWith({ command: "run", deployment: "hello/ok", wait: "false", parameters: "name: attempt" });
    process.env.GITHUB_RUN_ATTEMPT = "2";
    try {
      const reused = await runWith({ command: "run", deployment: "hello/ok", wait: "false", parameters: "name: attempt" });
      expect(reused.outputs["flow-run-id"]).toBe(first.outputs["flow-run-id"]);
      const fresh = await runWith({ command: "run", deployment: "hello/ok", wait: "false", parameters: "name: attempt", "new-run-per-attempt": "true" });
      expect(fresh.outputs["flow-run-id"]).not.toBe(first.outputs["flow-run-id"]);
    } finally {
      process.env.GITHUB_RUN_ATTEMPT = "1";
    }
  });

  it("post(): cancels the run the main step waited on and did not see end; nothing without one", async () => {
    const started = await runWith({ command: "run", deployment: "hello/ok", wait: "false", parameters: "name: post" });
    const id = started.outputs["flow-run-id"]!;
    const { post } = await import("./post.js");
    const withState = async (state: Record<string, string>) => {
      for (const [k, v] of Object.entries(state)) process.env[`STATE_${k}`] = v;
      for (const [k, v] of Object.entries({ "api-url": ferry.url, "api-key": ferry.bootstrap!.apiKey })) process.env[`INPUT_${k.toUpperCase()}`] = v;
      try {
        await post();
      } finally {
        for (const k of Object.keys(state)) delete process.env[`STATE_${k}`];
      }
    };
    await withState({ "flow-run-id": id, "flow-run-settled": id });
    expect((await client.api.getFlowRun({ params: { id } })).state.type).toBe("SCHEDULED");
    await withState({});
    expect((await client.api.getFlowRun({ params: { id } })).state.type).toBe("SCHEDULED");
    await withState({ "flow-run-id": id });
    const after = await client.api.getFlowRun({ params: { id } });
    expect(after.state.type).toBe("CANCELLED");
    expect(after.state.message).toMatch(/GitHub Actions step stopped before the run ended/);
    expect(step.stdout).toContain(`Cancelled flow run ${id}`);
    expect(process.exitCode).toBeUndefined();
  });

  it("fails naming the input when the deployment does not exist", async () => {
    const r = await runWith({ command: "run", deployment: "hello/missing" });
    expect(r.failed).toBe(true);
    expect(r.stdout).toMatch(/::error::input 'deployment' was rejected by the Ferry server: deployment 'hello\/missing' was not found/);
  });
});
