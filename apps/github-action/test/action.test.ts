import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { distDriver, localActionDriver, type ActionDriver } from "./action-harness.js";

/**
 * The action against a real server on the embedded store, managed runs on the process backend (Python
 * flows cloned from a local repository laid out as `<GITHUB_SERVER_URL>/<GITHUB_REPOSITORY>`), driven
 * twice: through @github/local-action (the source's run()) and as the runner starts the committed bundle.
 */
const REPO_FILES: Record<string, string> = {
  "ferry.yaml": `deployments:
  - name: ok
    flow_name: hello
    entrypoint: flows/hello.py:hello
    work_pool: { name: managed }
  - name: boom
    flow_name: boom
    entrypoint: flows/boom.py:boom
    work_pool: { name: managed }
`,
  "flows/hello.py": `def hello(name: str = "world"):
    print(f"greeting {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
  "flows/boom.py": `def boom():
    print("about to fail", flush=True)
    raise RuntimeError("the flow blew up on purpose")
`,
};

let home: string;
let serverRoot: string;
let workspace: string;
let sha: string;
let server: RunningServer;
let client: FerryClient;

beforeAll(async () => {
  serverRoot = mkdtempSync(join(tmpdir(), "ferry-action-git-"));
  workspace = join(serverRoot, "owner", "repo");
  for (const [path, text] of Object.entries(REPO_FILES)) {
    mkdirSync(join(workspace, path, ".."), { recursive: true });
    writeFileSync(join(workspace, path), text);
  }
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: workspace }).toString().trim();
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-qm", "flows");
  sha = git("rev-parse", "HEAD");
  home = mkdtempSync(join(tmpdir(), "ferry-action-home-"));
  server = await startServer(parseServerConfig({ FERRY_RUNNER: "process" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }));
  client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
  await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
});

afterAll(async () => {
  await server?.close();
  for (const dir of [home, serverRoot]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const visible = (stdout: string) => stdout.replace(/^::add-mask::.*$/gm, "");

const DRIVERS: [string, ActionDriver, string][] = [
  ["@github/local-action (source run())", localActionDriver, "101"],
  ["node dist/index.js (the committed bundle)", distDriver, "202"],
];

describe.each(DRIVERS)("the action through %s", (_name, drive, runId) => {
  const env = () => ({
    GITHUB_SERVER_URL: `file://${serverRoot}`,
    GITHUB_REPOSITORY: "owner/repo",
    GITHUB_SHA: sha,
    GITHUB_WORKSPACE: workspace,
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_EVENT_NAME: "push",
    GITHUB_API_URL: "http://127.0.0.1:9",
  });
  const common = () => ({ "api-url": server.url, "api-key": server.bootstrap!.apiKey });

  it("deploys ferry.yaml pinned to the workflow's repository and commit, idempotently", async () => {
    const first = await drive({ inputs: { ...common(), command: "deploy" }, env: env() });
    expect(first.errors, first.stdout + first.stderr).toEqual([]);
    const ids = JSON.parse(first.outputs["deployment-ids"] ?? "null") as string[];
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const d = await client.api.getDeployment({ params: { id } });
      expect(d.source).toMatchObject({ git_url: `file://${serverRoot}/owner/repo`, commit: sha });
    }
    expect(first.summary).toMatch(/Ferry deploy/);
    // The runner consumes ::add-mask:: itself; nowhere else may the key appear.
    expect(visible(first.stdout)).not.toContain(server.bootstrap!.apiKey);

    const again = await drive({ inputs: { ...common(), command: "deploy", deployments: "hello/ok" }, env: env() });
    expect(again.errors).toEqual([]);
    expect(again.stdout).toMatch(/unchanged\s+hello\/ok/);
    expect(JSON.parse(again.outputs["deployment-ids"]!)).toEqual([ids[0]]);
  });

  it("runs a deployment to COMPLETED, streaming its logs, with outputs and a summary", async () => {
    const r = await drive({ inputs: { ...common(), command: "run", deployment: "hello/ok", parameters: "name: ferry", timeout: "120" }, env: env() });
    expect(r.errors, r.stdout + r.stderr).toEqual([]);
    expect(r.outputs.state).toBe("COMPLETED");
    const id = r.outputs["flow-run-id"]!;
    expect(r.outputs["flow-run-url"]).toBe(`${server.url}/runs/${id}`);
    expect(r.stdout).toMatch(/greeting ferry/);
    expect(r.summary).toMatch(/COMPLETED/);
    expect(r.summary).toContain(id);
    const run = await client.api.getFlowRun({ params: { id } });
    expect(run.result).toEqual({ greeting: "hello ferry" });

    // The same job attempt asking again gets the same run back.
    const repeat = await drive({ inputs: { ...common(), command: "run", deployment: "hello/ok", wait: "false" }, env: env() });
    expect(repeat.outputs["flow-run-id"]).toBe(id);
  });

  it("fails the step, with an error annotation and the last log lines, when the run fails", async () => {
    const r = await drive({ inputs: { ...common(), command: "run", deployment: "boom/boom", timeout: "120" }, env: env() });
    expect(r.failed).toBe(true);
    expect(r.outputs.state).toBe("FAILED");
    expect(r.errors.join("\n")).toMatch(/boom\/boom ended FAILED/);
    expect(r.summary).toMatch(/FAILED/);
    expect(r.summary).toMatch(/about to fail|blew up on purpose/);
  });

  it("fails naming the input when the API key is wrong", async () => {
    const r = await drive({ inputs: { ...common(), "api-key": "fy_wrong", command: "run", deployment: "hello/ok" }, env: env() });
    expect(r.failed).toBe(true);
    expect(r.errors.join("\n")).toMatch(/input 'api-key'/);
    expect(visible(r.stdout)).not.toContain("fy_wrong");
  });
});
