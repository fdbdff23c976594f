import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FerryClient, isTerminal, type FlowRun } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { distDriver, localActionDriver, signalStep, type ActionDriver } from "./action-harness.js";
import { startIdTokenEndpoint, type IdTokenEndpoint } from "./id-token-endpoint.js";
import { startOidcIssuer, type OidcIssuer } from "../../../test-support/oidc-issuer.js";

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
  - name: slow
    flow_name: slow
    entrypoint: flows/slow.py:slow
    work_pool: { name: managed }
`,
  "flows/hello.py": `def hello(name: str = "world"):
    print(f"greeting {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
  "flows/slow.py": `import time


def slow():
    print("slow flow started", flush=True)
    time.sleep(600)
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
let prEvent: string;
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
  prEvent = join(serverRoot, "pr-event.json");
  writeFileSync(prEvent, JSON.stringify({ number: 5, pull_request: { number: 5 } }));
  home = mkdtempSync(join(tmpdir(), "ferry-action-home-"));
  // http issuers allowed: the OIDC tests' local issuer (test-support/oidc-issuer.js) serves its keys over http.
  server = await startServer(parseServerConfig({ FERRY_RUNNER: "process", FERRY_OIDC_ALLOW_HTTP_ISSUERS: "1" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }));
  client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
  await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
});

// A slow run a failed test left going would hold the workspace's run slot (and its python process): cancel it.
afterEach(async () => {
  const open = await slowRuns().catch(() => [] as FlowRun[]);
  for (const run of open.filter((r) => !isTerminal(r.state.type))) {
    await client.api.cancelFlowRun({ params: { id: run.id }, body: { reason: "test cleanup" } }).catch(() => undefined);
    await client.waitForRun(run.id).catch(() => undefined);
  }
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
    GITHUB_JOB: "flows",
    GITHUB_API_URL: "http://127.0.0.1:9",
  });
  const common = () => ({ "api-url": server.url, "api-key": server.bootstrap!.apiKey });

  it("deploys ferry.yaml pinned to the workflow's repository and commit, idempotently", async () => {
    const first = await drive({ inputs: { ...common(), command: "deploy" }, env: env() });
    expect(first.errors, first.stdout + first.stderr).toEqual([]);
    const ids = JSON.parse(first.outputs["deployment-ids"] ?? "null") as string[];
    expect(ids).toHaveLength(3);
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

    // The same job asking again for the same run (a retried step) gets it back.
    const repeat = await drive({ inputs: { ...common(), command: "run", deployment: "hello/ok", parameters: "name: ferry", wait: "false" }, env: env() });
    expect(repeat.errors, repeat.stdout).toEqual([]);
    expect(repeat.outputs["flow-run-id"]).toBe(id);
  });

  it("makes one run per matrix combination and parameter set, and gets each back when asked again", async () => {
    const step = (shard: string) =>
      drive({ inputs: { ...common(), command: "run", deployment: "hello/ok", wait: "false", matrix: JSON.stringify({ shard }), parameters: `name: ${shard}` }, env: env() });
    const a = await step("a");
    const b = await step("b");
    expect([a.errors, b.errors], a.stdout + b.stdout).toEqual([[], []]);
    const [idA, idB] = [a.outputs["flow-run-id"]!, b.outputs["flow-run-id"]!];
    expect(idA).not.toBe(idB);
    expect((await client.api.getFlowRun({ params: { id: idA } })).parameters).toEqual({ name: "a" });
    expect((await client.api.getFlowRun({ params: { id: idB } })).parameters).toEqual({ name: "b" });
    expect((await step("a")).outputs["flow-run-id"]).toBe(idA);
    await client.waitForRun(idA);
    await client.waitForRun(idB);
  });

  it("on a pull request, refuses to replace a deployment it did not make, deploys and deletes its own per-PR deployment", async () => {
    const prEnv = () => ({ ...env(), GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: prEvent });
    const before = await client.resolveDeployment("hello/ok");
    const refused = await drive({ inputs: { ...common(), command: "deploy", deployments: "hello/ok" }, env: prEnv() });
    expect(refused.failed).toBe(true);
    expect(refused.errors.join("\n")).toMatch(/refusing to replace deployment 'hello\/ok' on a pull_request event/);
    expect(refused.errors.join("\n")).toContain("name: hello-pr-${{ github.event.number }}");
    expect((await client.resolveDeployment("hello/ok")).updated_at).toBe(before.updated_at);

    const own = { ...common(), deployments: "hello/ok", name: "hello-pr-5" };
    const made = await drive({ inputs: { ...own, command: "deploy" }, env: prEnv() });
    expect(made.errors, made.stdout + made.stderr).toEqual([]);
    const perPr = await client.resolveDeployment("hello/hello-pr-5");
    expect(perPr.tags).toContain("github-pr:owner/repo#5");
    expect(perPr.source).toMatchObject({ commit: sha });
    const again = await drive({ inputs: { ...own, command: "deploy" }, env: prEnv() });
    expect(again.errors).toEqual([]);

    const notOwn = await drive({ inputs: { ...common(), command: "delete", deployment: "hello/ok" }, env: prEnv() });
    expect(notOwn.failed).toBe(true);
    expect(notOwn.errors.join("\n")).toMatch(/refusing to delete deployment 'hello\/ok'/);
    const deleted = await drive({ inputs: { ...own, command: "delete" }, env: prEnv() });
    expect(deleted.errors, deleted.stdout).toEqual([]);
    expect(JSON.parse(deleted.outputs["deployment-ids"]!)).toEqual([perPr.id]);
    expect((await client.api.listDeployments({ query: { flow_name: "hello", name: "hello-pr-5" } })).items).toEqual([]);
    await client.resolveDeployment("hello/ok");
  });

  it("cancels its run when the workflow is cancelled while the step waits on it", async () => {
    const started = new Set((await slowRuns()).map((r) => r.id));
    const r = await drive({
      inputs: { ...common(), command: "run", deployment: "slow/slow" },
      env: env(),
      onStart: (child) => {
        void (async () => {
          const run = await waitForSlowRun(started, "RUNNING");
          if (run) signalStep(child, "SIGTERM");
        })();
      },
    });
    const run = await waitForSlowRun(started, "CANCELLED");
    expect(r.failed, r.stdout.slice(-3000) + r.stderr).toBe(true);
    expect(run?.state.type, r.stdout + r.stderr).toBe("CANCELLED");
    const history = (await client.api.getFlowRunHistory({ params: { id: run!.id } })).items;
    expect(history.find((s) => s.type === "CANCELLING")?.message).toMatch(/GitHub Actions workflow was cancelled \(SIGTERM while the step waited on the run\)/);
    expect(r.errors.join("\n")).toMatch(/the workflow was cancelled; flow run .* was cancelled with it/);
  });


  it("fails the step, with an error annotation and the last log lines, when the run fails", async () => {
    const r = await drive({ inputs: { ...common(), command: "run", deployment: "boom/boom", timeout: "120" }, env: env() });
    expect(r.failed).toBe(true);
    expect(r.outputs.state).toBe("FAILED");
    expect(r.errors.join("\n")).toMatch(/boom\/boom ended FAILED/);
    expect(r.summary).toMatch(/FAILED/);
    // The summary's table: state and duration; then the last log lines of the failed run.
    expect(r.summary).toMatch(/<td>FAILED<\/td><td>(\d+s|\d+m \d{2}s)<\/td>/);
    expect(r.summary).toMatch(/about to fail|blew up on purpose/);
  });

  it("fails naming the input when the API key is wrong", async () => {
    const r = await drive({ inputs: { ...common(), "api-key": "fy_wrong", command: "run", deployment: "hello/ok" }, env: env() });
    expect(r.failed).toBe(true);
    expect(r.errors.join("\n")).toMatch(/input 'api-key'/);
    expect(visible(r.stdout)).not.toContain("fy_wrong");
  });
});


const slowRuns = async (): Promise<FlowRun[]> => {
  const slow = await client.resolveDeployment("slow/slow");
  return (await client.api.listFlowRuns({ query: { deployment_id: slow.id } })).items;
};

/** The new run of slow/slow once it is in `state` (null after three minutes). */
async function waitForSlowRun(known: Set<string>, state: string): Promise<FlowRun | null> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const run = (await slowRuns()).find((r) => !known.has(r.id));
    if (run?.state.type === state) return run;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

describe("the post step (node dist/index.js, as the runner runs action.yml's post)", () => {
  it("cancels the run a killed main step left waiting, and does nothing once the run ended", async () => {
    const env = {
      GITHUB_SERVER_URL: `file://${serverRoot}`,
      GITHUB_REPOSITORY: "owner/repo",
      GITHUB_SHA: sha,
      GITHUB_WORKSPACE: workspace,
      GITHUB_RUN_ID: "303",
      GITHUB_RUN_ATTEMPT: "1",
      GITHUB_EVENT_NAME: "push",
      GITHUB_JOB: "flows",
    };
    const inputs = { "api-url": server.url, "api-key": server.bootstrap!.apiKey, command: "run", deployment: "slow/slow" };
    const started = new Set((await slowRuns()).map((r) => r.id));
    // The runner gave up on the step: SIGKILL, no handler runs.
    const main = await distDriver({
      inputs,
      env,
      onStart: (child) => {
        void (async () => {
          if (await waitForSlowRun(started, "RUNNING")) signalStep(child, "SIGKILL");
        })();
      },
    });
    expect(main.exitCode).toBeNull();
    const running = await waitForSlowRun(started, "RUNNING");
    expect(running).not.toBeNull();
    expect(main.state).toMatchObject({ isPost: "true", "flow-run-id": running!.id });
    expect(main.state["flow-run-settled"]).toBeUndefined();

    const post = await distDriver({ inputs, env, post: main.state });
    expect(post.exitCode, post.stdout + post.stderr).toBe(0);
    expect(post.stdout).toContain(`Cancelled flow run ${running!.id}`);
    const final = await client.waitForRun(running!.id);
    expect(final.state.type).toBe("CANCELLED");

    const again = await distDriver({ inputs, env, post: main.state });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`Flow run ${running!.id} already ended CANCELLED`);
  });
});

/**
 * Sign-in by OIDC, as a job with `permissions: id-token: write` and no key in its secrets: a local
 * endpoint plays the runner's ACTIONS_ID_TOKEN_REQUEST_URL and hands out tokens a local issuer signed,
 * which the workspace trusts through a policy. Through the committed bundle only: @github/local-action's
 * stand-in for @actions/core does not implement getIDToken ("Not implemented").
 */
describe("sign-in by OIDC (node dist/index.js, no api-key)", () => {
  let issuer: OidcIssuer;
  let endpoint: IdTokenEndpoint;
  let workspaceId: string;

  beforeAll(async () => {
    issuer = await startOidcIssuer();
    endpoint = await startIdTokenEndpoint(issuer);
    workspaceId = (await client.api.getWorkspace()).id;
    await client.api.createOidcTrustPolicy({
      body: { name: "owner-repo-main", issuer: issuer.url, audience: "ferry", conditions: { repository: "owner/repo", ref: "refs/heads/main" }, role: "deployer" },
    });
  });
  afterAll(async () => {
    await endpoint?.close();
    await issuer?.close();
  });

  const env = (job: { repository?: string; ref?: string } = {}) => ({
    GITHUB_SERVER_URL: `file://${serverRoot}`,
    GITHUB_REPOSITORY: job.repository ?? "owner/repo",
    GITHUB_REF: job.ref ?? "refs/heads/main",
    GITHUB_SHA: sha,
    GITHUB_WORKSPACE: workspace,
    GITHUB_RUN_ID: "404",
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_EVENT_NAME: "push",
    GITHUB_JOB: "flows",
    GITHUB_API_URL: "http://127.0.0.1:9",
    ACTIONS_ID_TOKEN_REQUEST_URL: `${endpoint.url}/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: endpoint.requestTokenFor({ repository: job.repository ?? "owner/repo", ref: job.ref ?? "refs/heads/main" }),
  });
  const inputs = () => ({ "api-url": server.url, workspace: workspaceId });

  it("deploys and runs with the job's OIDC token, no key in the repository's secrets", async () => {
    const deployed = await distDriver({ inputs: { ...inputs(), command: "deploy", deployments: "hello/ok" }, env: env() });
    expect(deployed.errors, deployed.stdout + deployed.stderr).toEqual([]);
    expect(JSON.parse(deployed.outputs["deployment-ids"]!)).toHaveLength(1);
    expect(endpoint.requests.at(-1)).toEqual({ audience: "ferry", authorized: true });

    const ran = await distDriver({ inputs: { ...inputs(), command: "run", deployment: "hello/ok", parameters: "name: oidc", timeout: "120" }, env: env() });
    expect(ran.errors, ran.stdout + ran.stderr).toEqual([]);
    expect(ran.outputs.state).toBe("COMPLETED");
    expect(ran.stdout).toMatch(/greeting oidc/);
    // Both tokens are masked (::add-mask::) before anything could print them, and never printed.
    const masked = [...ran.stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1]!);
    expect(masked.some((v) => v.startsWith("fo_"))).toBe(true);
    for (const secret of masked) expect(visible(ran.stdout)).not.toContain(secret);
  });

  it("fails naming the trust policy to add when the job's repository is not trusted", async () => {
    const r = await distDriver({ inputs: { ...inputs(), command: "deploy" }, env: env({ repository: "mallory/repo" }) });
    expect(r.failed).toBe(true);
    expect(r.errors.join("\n")).toMatch(/Ferry did not accept this job's OIDC token \(audience 'ferry', repository mallory\/repo/);
    expect(r.errors.join("\n")).toMatch(/ferry oidc-trust create ci --claim repository=mallory\/repo/);
  });

  it("fails saying how to sign in when the job has neither a key nor id-token: write", async () => {
    const { ACTIONS_ID_TOKEN_REQUEST_URL: _u, ACTIONS_ID_TOKEN_REQUEST_TOKEN: _t, ...noOidc } = env();
    const r = await distDriver({ inputs: { ...inputs(), command: "deploy" }, env: noOidc });
    expect(r.failed).toBe(true);
    expect(r.errors.join("\n")).toMatch(/input 'api-key' is empty and the job cannot sign in by OIDC .*permissions: id-token: write/);
  });
});
