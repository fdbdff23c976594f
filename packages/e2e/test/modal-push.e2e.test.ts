import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startModalLocal, type ModalLocal } from "@ferry/modal-local";
import type { FlowRun } from "@ferry/core";
import { FERRY_BIN, ferry as runFerry, parseJson, startServer, type CliResult, type ServerProcess } from "../../../apps/cli/test/cli-harness.js";
import { docker as dockerService } from "../../../test-support/services.js";
import { serveRepo, type ServedRepo } from "./support/git-server.js";

/**
 * `modal:push` end to end, through the CLI as a user drives it: a server (`ferry server start`) that
 * loads @ferry/provider-modal, a pool made with `ferry work-pool create --type modal:push
 * --provision-infra` from the user's Modal token (MODAL_TOKEN_ID / MODAL_TOKEN_SECRET), deployments and
 * runs with `ferry deploy` and `ferry deployment run --watch`. Modal is @ferry/modal-local: the official
 * SDK inside the server and the CLI reaches it through the plugin's `server_url` option, and each
 * sandbox is a container of the engine image on the host network, so its engine reports back to the
 * server at 127.0.0.1.
 */
const IMAGE = "ferry-engine:latest";
/** The GitHub Action as a runner starts it (`node24`, `main: dist/index.js`). */
const ACTION_BUNDLE = fileURLToPath(new URL("../../../apps/github-action/dist/index.js", import.meta.url));
const POOL = "mp";

const FLOWS: Record<string, string> = {
  "flows/hello.py": `def main(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
  "flows/raises.py": `def main():
    raise ValueError("bad day")
`,
  "flows/sleepy.py": `import time

def main(seconds: int = 600):
    print("sleeping", flush=True)
    time.sleep(seconds)
    return {"slept": seconds}
`,
};

describe("modal:push end to end through the CLI, against modal-local", await dockerService({ images: [IMAGE] }), () => {
  let local: ModalLocal;
  let repo: ServedRepo;
  let home: string;
  let project: string;
  let server: ServerProcess;
  let env: Record<string, string>;

  const ferry = (args: string[]): Promise<CliResult> => runFerry(args, { home, env, cwd: project });
  const ok = (result: CliResult) => expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  const inspect = async (id: string) => parseJson<{ flow_run: FlowRun }>(await ferry(["flow-run", "inspect", id, "--json"])).flow_run;
  const logsOf = async (id: string) => (await ferry(["flow-run", "logs", id])).stdout;
  /** `ferry deployment run NAME --watch --json`: the final run. */
  const runAndWatch = async (name: string, extra: string[] = []): Promise<{ result: CliResult; run: FlowRun }> => {
    const result = await ferry(["deployment", "run", name, "--watch", "--json", ...extra]);
    return { result, run: parseJson<FlowRun>(result) };
  };
  const sandboxOf = (run: FlowRun) => local.sandbox(run.infrastructure_id ?? "");

  const serverEnv = () => ({
    FERRY_PROVIDERS: "@ferry/provider-modal",
    FERRY_PROVIDER_OPTIONS: JSON.stringify({ "@ferry/provider-modal": { server_url: local.url } }),
    MODAL_CONFIG_PATH: join(home, "no-modal.toml"),
  });

  beforeAll(async () => {
    local = await startModalLocal({ terminateGraceSeconds: 2 });
    if (local.runtimeUnavailable) throw new Error(`modal-local cannot run sandboxes: ${local.runtimeUnavailable}`);
    repo = await serveRepo(FLOWS);
    home = await mkdtemp(join(tmpdir(), "ferry-e2e-modal-"));
    project = await mkdtemp(join(tmpdir(), "ferry-e2e-modal-project-"));
    for (const [path, text] of Object.entries(FLOWS)) {
      await mkdir(dirname(join(project, path)), { recursive: true });
      await writeFile(join(project, path), text);
    }
    server = await startServer(home, 60_000, serverEnv());
    // The user's shell: their Modal token, and where this Modal is (the client plugin's option).
    env = {
      MODAL_TOKEN_ID: local.token.tokenId,
      MODAL_TOKEN_SECRET: local.token.tokenSecret,
      ...serverEnv(),
    };
    const created = await ferry(["work-pool", "create", POOL, "--type", "modal:push", "--provision-infra", "--yes"]);
    ok(created);
    expect(created.stdout).toMatch(new RegExp(`Created work pool '${POOL}' \\(modal:push\\) with credentials '${POOL}-modal'`));
    for (const [name, entrypoint] of [
      ["hello", "flows/hello.py:main"],
      ["raises", "flows/raises.py:main"],
      ["sleepy", "flows/sleepy.py:main"],
    ] as const) {
      ok(await ferry(["deploy", "--name", name, "--entrypoint", entrypoint, "--pool", POOL, "--git-url", repo.url, "--branch", "main", "--job-variable", `image=${IMAGE}`]));
    }
  }, 180_000);

  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop();
    // Closing modal-local removes the sandboxes' containers.
    await local?.close();
    await repo?.close();
    for (const dir of [home, project]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("stored the user's token as the pool's modal credentials, secret hidden", async () => {
    const credentials = parseJson<{ type: string; data: Record<string, string> }>(await ferry(["credentials", "inspect", `${POOL}-modal`, "--json"]));
    expect(credentials).toMatchObject({ type: "modal", data: { token_id: local.token.tokenId, token_secret: "********" } });
  });

  it("runs a flow to COMPLETED in a sandbox named from the run, with its logs", async () => {
    const { result, run } = await runAndWatch("main/hello", ["--param", "name=ferry"]);
    expect(run.state.type, `${run.state.message}\n${result.stderr}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(result.code).toBe(0);
    expect(run.result).toEqual({ greeting: "hello ferry" });
    expect(await logsOf(run.id)).toContain("hello ferry");
    const sandbox = sandboxOf(run);
    expect(sandbox).toMatchObject({ appName: "ferry", name: `ferry-${run.id}`, tags: { "ferry-flow-run-id": run.id, "ferry-pool": POOL }, timeoutSecs: 3600, status: "finished", exitCode: 0 });
    // The engine's token rode in a secret: never in the sandbox's command, name or tags.
    expect(sandbox?.env.FERRY_BOOTSTRAP_TOKEN).toMatch(/^frb_/);
    expect(JSON.stringify({ c: sandbox?.command, t: sandbox?.tags, n: sandbox?.name })).not.toContain(sandbox?.env.FERRY_BOOTSTRAP_TOKEN);
  });

  it("reports a flow that raises as FAILED with the traceback in its logs", async () => {
    const { result, run } = await runAndWatch("main/raises");
    expect(run.state.type, run.state.message ?? "").toBe("FAILED");
    expect(result.code).toBe(1);
    expect(run.state.message).toMatch(/ValueError: bad day/);
    expect(await logsOf(run.id)).toMatch(/Traceback \(most recent call last\)/);
  });

  it("crashes a flow that outlives the timeout job variable: 'timed out after N s'", async () => {
    const { run } = await runAndWatch("main/sleepy", ["--job-variable", "timeout=10"]);
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toContain("timed out after 10 s");
    expect(sandboxOf(run)).toMatchObject({ timeoutSecs: 10, exitCode: 124 });
  });

  it("puts a crashed sandbox's own output into the run's logs when the engine could not ship it", async () => {
    // No engine at all: what the sandbox printed is all there is, and only Modal has it.
    const silent = JSON.stringify(["sh", "-c", "echo 'no engine here' >&2; exit 3"]);
    const { run } = await runAndWatch("main/hello", ["--job-variable", `command=${silent}`]);
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toContain("exited with code 3");
    await expect.poll(() => logsOf(run.id), { timeout: 30_000 }).toContain("no engine here");
  });

  it("cancels a running run: the sandbox is terminated and the run is CANCELLED once Modal reports it ended", async () => {
    const started = parseJson<{ flow_run: FlowRun }>(await ferry(["deployment", "run", "main/sleepy", "--json"])).flow_run;
    await expect.poll(async () => (await inspect(started.id)).state.type, { timeout: 120_000, interval: 500 }).toBe("RUNNING");
    const running = await inspect(started.id);
    expect(sandboxOf(running)?.status).toBe("running");
    ok(await ferry(["flow-run", "cancel", started.id]));
    await expect.poll(async () => (await inspect(started.id)).state.type, { timeout: 60_000, interval: 500 }).toBe("CANCELLED");
    expect(sandboxOf(running)).toMatchObject({ terminateRequested: true, status: "finished", exitCode: 137 });
    expect(local.calls().filter((c) => c.rpc === "SandboxTerminateV2" && c.tokenId === local.token.tokenId).length).toBeGreaterThanOrEqual(1);
  });

  it("the GitHub Action (its committed bundle) deploys to the Modal pool and runs to COMPLETED, with no change of its own", async () => {
    // A runner's checkout: ferry.yaml naming the Modal pool, at `<GITHUB_SERVER_URL>/<GITHUB_REPOSITORY>`
    // (the served repository cloned as owner/repo beside it), pinned to its commit.
    const root = dirname(repo.dir);
    await mkdir(join(root, "owner"), { recursive: true });
    execFileSync("git", ["clone", "-q", repo.dir, join(root, "owner", "repo")]);
    const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repo.dir }).toString().trim();
    await writeFile(
      join(project, "ferry.yaml"),
      `deployments:\n  - name: from-action\n    entrypoint: flows/hello.py:main\n    work_pool: { name: ${POOL}, job_variables: { image: ${IMAGE} } }\n    parameters: { name: action }\n`,
    );
    const apiKey = (JSON.parse(await readFile(join(home, "profiles.json"), "utf8")) as { profiles: { local: { api_key: string } } }).profiles.local.api_key;
    const action = (inputs: Record<string, string>) =>
      runProcess(process.execPath, [ACTION_BUNDLE], {
        PATH: process.env.PATH ?? "",
        HOME: home,
        GITHUB_SERVER_URL: new URL(repo.url).origin,
        GITHUB_REPOSITORY: "owner/repo",
        GITHUB_SHA: sha,
        GITHUB_WORKSPACE: project,
        GITHUB_RUN_ID: "4242",
        GITHUB_RUN_ATTEMPT: "1",
        GITHUB_EVENT_NAME: "push",
        GITHUB_API_URL: "http://127.0.0.1:9",
        ...Object.fromEntries(Object.entries({ "api-url": server.url, "api-key": apiKey, ...inputs }).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      }, project);
    const deployed = await action({ command: "deploy" });
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const ran = await action({ command: "run", deployment: "main/from-action", timeout: "180" });
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toContain("hello action");
    const runs = parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--json"]));
    const run = runs.find((r) => r.deployment_name === "from-action");
    expect(run?.state.type).toBe("COMPLETED");
    expect(sandboxOf(run!)).toMatchObject({ name: `ferry-${run!.id}`, exitCode: 0 });
  });

  it("crashes a run Modal refuses for a quota, with the reason in plain words, and starts no sandbox", async () => {
    const before = local.sandboxes().length;
    local.injectFault({ rpc: "SandboxCreateV2", code: "RESOURCE_EXHAUSTED", message: "Sandbox concurrency limit of 100 reached for this workspace" });
    const { run } = await runAndWatch("main/hello");
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toContain("Modal refused for a limit of the workspace (Sandbox concurrency limit of 100 reached for this workspace)");
    expect(local.sandboxes().length).toBe(before);
  });

  it("starts one sandbox when the server is killed during the submission and restarted", async () => {
    const port = new URL(server.url).port;
    const callsBefore = local.calls().length;
    // Modal makes the sandbox but its answer is lost, and every lookup by name that finds it loses its
    // answer too (`after`: a lookup that finds nothing is answered): the server keeps the run
    // Submitting, with no sandbox recorded, until it is killed.
    local.injectFault({ rpc: "SandboxCreateV2", code: "UNAVAILABLE", message: "connection reset", after: true, times: 1 });
    local.injectFault({ rpc: "SandboxGetFromNameV2", code: "UNAVAILABLE", message: "connection reset", after: true, times: 1000 });
    // The engine starts a few seconds late, so that it first calls the server once it is back.
    const late = JSON.stringify(["sh", "-c", "sleep 8; exec node /opt/ferry/engine/engine.mjs"]);
    const created = parseJson<{ flow_run: FlowRun }>(await ferry(["deployment", "run", "main/hello", "--param", "name=restart", "--job-variable", `command=${late}`, "--json"])).flow_run;
    await expect.poll(() => local.calls().slice(callsBefore).some((c) => c.rpc === "SandboxGetFromNameV2" && c.status === "UNAVAILABLE"), { timeout: 60_000, interval: 20 }).toBe(true);
    server.child.kill("SIGKILL");
    await new Promise((resolve) => server.child.once("exit", resolve));
    local.clearFaults();
    const submitting = local.sandboxes().filter((s) => s.name === `ferry-${created.id}`);
    expect(submitting).toHaveLength(1);

    const restartedAt = local.calls().length;
    server = await startServerOn(home, port, serverEnv());
    await expect.poll(async () => (await inspect(created.id)).state.type, { timeout: 120_000, interval: 500 }).toBe("COMPLETED");
    const done = await inspect(created.id);
    expect(done.result).toEqual({ greeting: "hello restart" });
    expect(done.infrastructure_id).toBe(submitting[0]!.id);
    expect(local.sandboxes().filter((s) => s.name === `ferry-${created.id}`)).toHaveLength(1);
    // The restarted server submitted again: it found the first sandbox by the run's name and created none.
    const since = local.calls().slice(restartedAt);
    expect(since.filter((c) => c.rpc === "SandboxCreateV2")).toEqual([]);
    expect(since.filter((c) => c.rpc === "SandboxGetFromNameV2").map((c) => c.status)).toContain("OK");
  }, 240_000);

  it("crashes a run whose token Modal no longer accepts, with Modal's reason and the fix", async () => {
    local.revokeToken(local.token.tokenId);
    const { run } = await runAndWatch("main/hello");
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toMatch(/Modal did not accept the pool's token \(.+\): make a token with 'modal token new'/);
    expect(run.state.message).toContain(`ferry work-pool provision-infra ${POOL}`);
    expect(run.state.message).not.toContain(local.token.tokenSecret);
  });
});

/** `ferry server start --port PORT` (the harness's startServer always takes a free port): a server restarted where its runs report. */
function startServerOn(home: string, port: string, env: Record<string, string>): Promise<ServerProcess> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("FERRY_") && k !== "FORCE_COLOR") clean[k] = v;
  const child = spawn(process.execPath, [FERRY_BIN, "server", "start", "--port", port], {
    env: { ...clean, NO_COLOR: "1", FERRY_HOME: home, FERRY_LOG_LEVEL: "warn", FERRY_SHUTDOWN_GRACE_MS: "2000", FERRY_RUNNER: "none", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start on port ${port}:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const url = /Ferry server listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url && output.includes("Press Ctrl+C to stop.")) {
        clearTimeout(timer);
        resolve({
          url,
          child,
          output: () => output,
          stop: async () => {
            child.kill("SIGINT");
            return exited;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before it listened:\n${output}`));
    });
  });
}

function runProcess(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
