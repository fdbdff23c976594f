import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiKey, CreatedApiKey, Credentials, Deployment, DeploymentApplyResult, FlowRun, Quota, StateHistoryEntry, WorkPool, Workspace } from "@ferry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, ferryOnTerminal, parseJson, startServer, transcript, type CliOptions, type CliResult, type ServerProcess } from "./cli-harness.js";
import { alive } from "../../../test-support/processes.js";

// A value that must never be printed by any command, the server included.
const SECRET_TOKEN = `ghp_${randomBytes(18).toString("base64url")}`;

const FERRY_YAML = `
source: { git_url: https://github.com/acme/flows.git, branch: main }
deployments:
  - name: nightly
    entrypoint: flows/etl.py:etl
    work_pool: { name: managed-a, job_variables: { pip_packages: [pandas] } }
    parameters: { day: "2026-01-01" }
    tags: [etl]
  - name: hourly
    flow_name: etl
    entrypoint: flows/etl.py:etl
    work_pool: { name: managed-a }
`;

let home: string;
let project: string;
let server: ServerProcess;
const ferry = (args: string[], options: CliOptions = {}) => runFerry(args, { home, cwd: project, ...options });

/** Exit code and message of a refused command, with the result shown when it does not match. */
function expectRefused(result: CliResult, code: number, message: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toEqual({ code, stderr: expect.stringMatching(message) });
  expect(result.stderr).toMatch(/^Error: /);
}

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-home-"));
  project = await mkdtemp(join(tmpdir(), "ferry-e2e-project-"));
  server = await startServer(home);
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await rm(home, { recursive: true, force: true });
  await rm(project, { recursive: true, force: true });
});

describe("ferry CLI against a real server", () => {
  let firstKey: string;
  let runId: string;

  it("starts the server, prints the first API key once and saves a working profile", async () => {
    const output = server.output();
    expect(output).toMatch(/Store: embedded PostgreSQL at /);
    firstKey = /^\s+(fy_\S+)$/m.exec(output)![1]!;
    expect(output.split(firstKey).length - 1).toBe(1);
    expect(output).toMatch(/shown only this once/);

    const path = join(home, "profiles.json");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    const file = JSON.parse(await readFile(path, "utf8"));
    expect(file).toMatchObject({ active: "local", profiles: { local: { api_url: server.url, api_key: firstKey, admin_token: expect.stringMatching(/.{24,}/) } } });

    // No further setup: the profile is enough.
    const quota = await ferry(["quota", "--json"]);
    expectOk(quota);
    expect(parseJson<Quota>(quota)).toMatchObject({ tier: "free", limits: { managed_pools: 1 }, usage: { managed_pools: 0 } });
  });

  // How fast it starts is the bench's figure (CLI start-up), not a test's: timings fail on a loaded machine.
  it("prints its version without a server or a profile", async () => {
    const version = await ferry(["--version"], { env: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_HOME: "/nonexistent" } });
    expectOk(version);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("creates an API key, prints it once, and never lists it", async () => {
    const created = await ferry(["api-key", "create", "ci", "--json"]);
    expectOk(created);
    const key = parseJson<CreatedApiKey>(created);
    expect(key).toMatchObject({ name: "ci", key: expect.stringMatching(/^fy_/) });

    const list = await ferry(["api-key", "ls", "--json"]);
    expect(parseJson<ApiKey[]>(list).map((k) => k.name).sort()).toEqual(["bootstrap", "ci"]);
    const table = await ferry(["api-key", "ls"]);
    expect(table.stdout + list.stdout).not.toContain(key.key);
    expect(table.stdout).toContain(`${key.key.slice(0, 9)}****`);

    const works = await ferry(["work-pool", "ls", "--json"], { env: { FERRY_API_KEY: key.key } });
    expectOk(works);
  });

  it("creates, lists (--json and a table) and deletes an OIDC trust policy", async () => {
    const created = await ferry(["oidc-trust", "create", "etl-main", "--claim", "repository=acme/etl", "--claim", "ref=refs/heads/*", "--role", "deployer", "--json"]);
    expectOk(created);
    expect(parseJson(created)).toMatchObject({
      name: "etl-main",
      issuer: "https://token.actions.githubusercontent.com",
      audience: "ferry",
      conditions: { repository: "acme/etl", ref: "refs/heads/*" },
      role: "deployer",
    });
    const list = await ferry(["oidc-trust", "ls", "--json"]);
    expect(parseJson<{ name: string }[]>(list).map((p) => p.name)).toEqual(["etl-main"]);
    const table = await ferry(["oidc-trust", "ls"]);
    expect(table.stdout).toMatch(/^Workspace [0-9a-f-]{36} \(the GitHub Action's 'workspace' input\)$/m);
    expect(table.stdout).toMatch(/etl-main\s+deployer\s+https:\/\/token\.actions\.githubusercontent\.com\s+ferry\s+ref=refs\/heads\/\* repository=acme\/etl/);
    const badRole = await ferry(["oidc-trust", "create", "x", "--claim", "repository=a/b", "--role", "owner"]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/not a role; use one of viewer, runner, deployer, admin/);
    const unpinned = await ferry(["oidc-trust", "create", "x", "--claim", "ref=refs/heads/main"]);
    expect(unpinned.code).toBe(2);
    expect(unpinned.stderr).toMatch(/must pin/);
    expectOk(await ferry(["oidc-trust", "delete", "etl-main", "--yes"]));
    expect(parseJson(await ferry(["oidc-trust", "ls", "--json"]))).toEqual([]);
  });

  it("creates a ferry:managed work pool", async () => {
    const created = await ferry(["work-pool", "create", "managed-a", "--type", "ferry:managed", "--description", "the e2e pool"]);
    expectOk(created);
    expect(created.stdout).toMatch(/Created work pool 'managed-a' \(ferry:managed\)/);
    const pools = parseJson<WorkPool[]>(await ferry(["work-pool", "ls", "--json"]));
    expect(pools.map((p) => [p.name, p.type, p.description])).toEqual([["managed-a", "ferry:managed", "the e2e pool"]]);
    expect((await ferry(["work-pool", "ls"])).stdout).toMatch(/^managed-a\s+ferry:managed\s+ready/m);
  });

  it("refuses a second managed pool on the free tier, creating nothing", async () => {
    const second = await ferry(["work-pool", "create", "managed-b", "--type", "ferry:managed"]);
    expectRefused(second, 5, /free tier allows 1 managed work pool/);
    expect(parseJson<WorkPool[]>(await ferry(["work-pool", "ls", "--json"]))).toHaveLength(1);
  });

  it("stores git credentials with the secret read from stdin, and shows it masked", async () => {
    const created = await ferry(["credentials", "create", "flows-repo", "--type", "git", "--field", "username=deploy-bot", "--from-file", "-"], {
      stdin: `token: ${SECRET_TOKEN}\n`,
    });
    expectOk(created);
    const shown = parseJson<Credentials>(await ferry(["credentials", "inspect", "flows-repo", "--json"]));
    expect(shown.data).toEqual({ username: "deploy-bot", token: "********" });
    expect((await ferry(["credentials", "inspect", "flows-repo"])).stdout).toMatch(/token: "\*{8}"/);

    const asFlag = await ferry(["credentials", "create", "leaky", "--type", "git", "--field", `token=${SECRET_TOKEN}`]);
    expectRefused(asFlag, 2, /secret and is never taken from a flag/);
    const unknown = await ferry(["credentials", "create", "cloudy", "--type", "keypair", "--field", "key_id=x"]);
    expectRefused(unknown, 2, /'keypair' is not a credentials type of this server; its types: git/);
    expect(parseJson<Credentials[]>(await ferry(["credentials", "ls", "--json"])).map((c) => c.name)).toEqual(["flows-repo"]);
    expect(parseJson<{ type: string }[]>(await ferry(["credentials", "types", "--json"])).map((t) => t.type)).toEqual(["git"]);
  });

  it("deploys two deployments from ferry.yaml, then reports them unchanged", async () => {
    await writeFile(join(project, "ferry.yaml"), FERRY_YAML);
    const first = await ferry(["deploy", "--all"]);
    expectOk(first);
    expect(first.stdout).toMatch(/^created\s+etl\/nightly\s+pool managed-a, https:\/\/github\.com\/acme\/flows\.git@main$/m);
    expect(first.stdout).toMatch(/^created\s+etl\/hourly\s/m);

    const again = await ferry(["deploy", "--all", "--json"]);
    expect(parseJson<DeploymentApplyResult[]>(again).map((r) => r.action)).toEqual(["unchanged", "unchanged"]);

    const list = parseJson<Deployment[]>(await ferry(["deployment", "ls", "--json"]));
    expect(list.map((d) => `${d.flow_name}/${d.name}`)).toEqual(["etl/hourly", "etl/nightly"]);
    // --limit keeps the first N of the list's order; --search is the server's.
    expect(parseJson<Deployment[]>(await ferry(["deployment", "ls", "--limit", "1", "--json"])).map((d) => d.name)).toEqual(["hourly"]);
    expect(parseJson<Deployment[]>(await ferry(["deployment", "ls", "--search", "ETL night", "--json"])).map((d) => d.name)).toEqual(["nightly"]);
    expect((await ferry(["deployment", "ls", "--limit", "1"])).stdout).not.toMatch(/etl\/nightly/);
    expectRefused(await ferry(["deployment", "ls", "--limit", "0"]), 2, /--limit/);
    const nightly = parseJson<Deployment>(await ferry(["deployment", "inspect", "etl/nightly", "--json"]));
    expect(nightly).toMatchObject({ job_variables: { pip_packages: ["pandas"] }, parameters: { day: "2026-01-01" }, tags: ["etl"] });
  });

  it("refuses an unknown job variable and a bad entrypoint, creating nothing", async () => {
    await writeFile(
      join(project, "typo.yaml"),
      FERRY_YAML.replace("name: hourly", "name: typo").replace("work_pool: { name: managed-a }\n", "work_pool: { name: managed-a, job_variables: { pip_pakages: [x] } }\n"),
    );
    const typo = await ferry(["deploy", "--all", "--file", "typo.yaml"]);
    expectRefused(typo, 2, /job variables of etl\/typo are invalid \(known variables: .*pip_packages.*\).*pip_pakages is not a known field; nothing was applied/);

    const fromFlags = await ferry(["deploy", "--name", "flags", "--entrypoint", "flows/etl.py:etl", "--pool", "managed-a", "--git-url", "https://github.com/acme/flows.git", "--job-variable", "memory=4096"]);
    expectRefused(fromFlags, 2, /memory is not a known field/);

    await writeFile(join(project, "bad-entrypoint.yaml"), FERRY_YAML.replace("entrypoint: flows/etl.py:etl\n    work_pool: { name: managed-a }", "entrypoint: flows/etl.txt:etl\n    work_pool: { name: managed-a }"));
    const bad = await ferry(["deploy", "--all", "--file", "bad-entrypoint.yaml"]);
    expectRefused(bad, 2, /bad-entrypoint\.yaml:\d+: deployments\[1\]\.entrypoint: 'flows\/etl\.txt:etl' has an unsupported file type/);

    const list = parseJson<Deployment[]>(await ferry(["deployment", "ls", "--json"]));
    expect(list.map((d) => d.name).sort()).toEqual(["hourly", "nightly"]);
  });

  it("returns the same run for the same idempotency key", async () => {
    const first = await ferry(["deployment", "run", "etl/nightly", "--idempotency-key", "e2e-1", "--param", "day=2026-02-01", "--json"]);
    expectOk(first);
    const a = parseJson<{ flow_run: FlowRun; created: boolean }>(first);
    const second = parseJson<{ flow_run: FlowRun; created: boolean }>(await ferry(["deployment", "run", "etl/nightly", "--idempotency-key", "e2e-1", "--param", "day=2026-02-01", "--json"]));
    expect(a.created).toBe(true);
    expect(second).toMatchObject({ created: false, flow_run: { id: a.flow_run.id } });
    expect(a.flow_run.parameters).toEqual({ day: "2026-02-01" });
    runId = a.flow_run.id;

    const human = await ferry(["deployment", "run", "etl/nightly", "--idempotency-key", "e2e-1", "--param", "day=2026-02-01"]);
    expect(human.stdout).toMatch(new RegExp(`exists already: '.*' \\(${runId}\\)`));
  });

  it("refuses a reused idempotency key with other parameters (409), naming both and the fix, without their values", async () => {
    const other = await ferry(["deployment", "run", "etl/nightly", "--idempotency-key", "e2e-1", "--param", "day=2026-03-15", "--param", `token=${SECRET_TOKEN}`]);
    expectRefused(other, 5, new RegExp(`idempotency key 'e2e-1' was used in the last 24 hours for run ${runId} with other parameters \\(day, token\\)`));
    expect(other.stderr).toMatch(/stored \{parameters: day; job variables: none\}, requested \{parameters: day, token; job variables: none\}/);
    expect(other.stderr).toMatch(/Use a new idempotency key for a different run, or send the same parameters to get run/);
    expect(other.stdout + other.stderr).not.toContain(SECRET_TOKEN);
    expect(other.stdout + other.stderr).not.toContain("2026-03-15");
  });

  it("lists and inspects the run, with SCHEDULED in its history", async () => {
    const runs = parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--json"]));
    expect(runs.map((r) => r.id)).toContain(runId);
    const filtered = parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--deployment", "etl/nightly", "--state", "SCHEDULED", "--all", "--json"]));
    expect(filtered.map((r) => r.id)).toEqual([runId]);

    const inspect = await ferry(["flow-run", "inspect", runId]);
    expectOk(inspect);
    expect(inspect.stdout).toMatch(/State history\n.*\n.*SCHEDULED\s+Scheduled/);
    expect(inspect.stdout).toContain(`View it at ${server.url}/runs/${runId}\n`);
    const json = parseJson<{ flow_run: FlowRun; history: StateHistoryEntry[] }>(await ferry(["flow-run", "inspect", runId, "--json"]));
    expect(json.history[0]).toMatchObject({ type: "SCHEDULED" });
  });

  it("ferry ui --no-open prints a single-use link that signs a browser in and sends it to the page", async () => {
    const ui = await ferry(["ui", "--no-open", `/runs/${runId}`]);
    expectOk(ui);
    const url = ui.stdout.trim();
    expect(url).toMatch(new RegExp(`^${server.url}/auth/login\\?token=fl_[\\w-]+$`));
    expect(ui.stderr).toMatch(/signs in once and only within 60 seconds/);
    const signIn = await fetch(url, { redirect: "manual" });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("location")).toBe(`/runs/${runId}`);
    const cookie = signIn.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^ferry_session=fs_\S+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    const session = await fetch(`${server.url}/api/flow-runs/${runId}`, { headers: { cookie: cookie.split(";")[0]! } });
    expect(session.status).toBe(200);
    expect(((await session.json()) as FlowRun).id).toBe(runId);
    expect((await fetch(url, { redirect: "manual" })).status).toBe(401);
  });

  it("cancels the run", async () => {
    const cancel = await ferry(["flow-run", "cancel", runId, "--reason", "e2e"]);
    expectOk(cancel);
    expect(cancel.stdout).toMatch(/is Cancelled/);
    const run = parseJson<{ flow_run: FlowRun; history: StateHistoryEntry[] }>(await ferry(["flow-run", "inspect", runId, "--json"]));
    expect(run.flow_run.state.type).toBe("CANCELLED");
    expect(run.history.map((h) => h.type)).toEqual(["SCHEDULED", "CANCELLED"]);
  });

  it("watches a run until its final state, exiting 1 when it does not complete", async () => {
    const { spawn } = await import("node:child_process");
    const { FERRY_BIN } = await import("./cli-harness.js");
    const child = spawn(process.execPath, [FERRY_BIN, "deployment", "run", "etl/hourly", "--watch"], {
      env: { PATH: process.env.PATH, FERRY_HOME: home, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
    await expect.poll(() => /\(([0-9a-f-]{36})\)/.exec(out)?.[1], { timeout: 10_000 }).toBeTruthy();
    const id = /\(([0-9a-f-]{36})\)/.exec(out)![1]!;
    expectOk(await ferry(["flow-run", "cancel", id]));
    expect(await exit).toBe(1);
    transcript.push(out);
    expect(out).toMatch(/Scheduled[\s\S]*Cancelled/);
  });

  it("refuses a duplicate pool name once the tier has room, creating nothing", async () => {
    expectOk(await ferry(["admin", "workspace", "set-limits", "default", "--tier", "pro"]));
    const duplicate = await ferry(["work-pool", "create", "managed-a", "--type", "ferry:managed"]);
    expectRefused(duplicate, 5, /managed-a.*(exists|taken)|(exists|taken).*managed-a/);
    expect(parseJson<WorkPool[]>(await ferry(["work-pool", "ls", "--json"]))).toHaveLength(1);
  });

  it("walks through 'ferry deploy' on a terminal, writes ferry.yaml and deploys; names the flags without one", async () => {
    const repo = await mkdtemp(join(tmpdir(), "ferry-e2e-wizard-"));
    try {
      const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=e2e", "-c", "user.email=e2e@example.com", ...args], { cwd: repo, stdio: "pipe" });
      git("init", "-q", "-b", "main");
      git("remote", "add", "origin", "https://github.com/acme/flows.git");
      await mkdir(join(repo, "flows"));
      await writeFile(join(repo, "flows", "hello.py"), 'def hello(name: str = "world"):\n    print(f"hello {name}")\n');
      git("add", ".");
      git("commit", "-q", "-m", "flows");

      const refused = await ferry(["deploy"], { cwd: repo });
      expectRefused(refused, 2, /no ferry\.yaml in .* and no terminal to ask on: pass --entrypoint path\/to\/flow\.py:function, --name NAME and --pool POOL/);

      const down = "\x1b[B";
      const walked = await ferryOnTerminal(
        ["deploy"],
        [
          ["Which flow\\?", "\r"],
          // managed-a, then "Create a ferry:managed pool": take the second, a new pool (the tier is pro now).
          ["Which work pool runs it\\?", `${down}\r`],
          ["Name of the new pool", "wizard-pool\r"],
          ["Deployment name", "greeting\r"],
          ["Default for parameter 'name'", "ferry\r"],
          ["Cron schedule", "0 9 * * 1-5\r"],
          ["Its time zone", "UTC\r"],
        ],
        { home, cwd: repo },
      );
      expect({ code: walked.code, screen: walked.stdout }).toMatchObject({ code: 0 });
      expect(walked.stdout).toMatch(/Created work pool 'wizard-pool' \(ferry:managed\)/);
      expect(walked.stdout).toMatch(/Wrote ferry\.yaml with deployment hello\/greeting\./);
      expect(walked.stdout).toMatch(/created\s+hello\/greeting\s+pool wizard-pool, https:\/\/github\.com\/acme\/flows\.git@main/);
      const yaml = await readFile(join(repo, "ferry.yaml"), "utf8");
      expect(yaml).toMatch(/entrypoint: flows\/hello\.py:hello/);
      const deployed = parseJson<Deployment>(await ferry(["deployment", "inspect", "hello/greeting", "--json"]));
      expect(deployed).toMatchObject({ work_pool: "wizard-pool", parameters: { name: "ferry" } });
      expect(deployed.schedules).toEqual([expect.objectContaining({ active: true, cron: "0 9 * * 1-5" })]);
      expectOk(await ferry(["deployment", "delete", "hello/greeting", "--yes"]));
      expectOk(await ferry(["work-pool", "delete", "wizard-pool", "--yes"]));
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("asks before a delete on a terminal, and deletes nothing on no", async () => {
    const declined = await ferryOnTerminal(["work-pool", "delete", "managed-a"], [["Delete work pool 'managed-a'\\?", "n\r"]], { home, cwd: project });
    expect(declined.code).toBe(1);
    expect(declined.stdout).toMatch(/Nothing deleted\./);
    expect(parseJson<WorkPool[]>(await ferry(["work-pool", "ls", "--json"])).map((p) => p.name)).toContain("managed-a");
  });

  it("says who is calling and which versions talk", async () => {
    const me = parseJson<{ api_url: string; profile: string; workspace: Workspace; credential: { kind: string; role: string }; server_version: string }>(await ferry(["whoami", "--json"]));
    expect(me).toMatchObject({ api_url: server.url, profile: "local", workspace: { name: "default" }, credential: { kind: "api_key", role: "admin" } });
    const text = await ferry(["whoami"]);
    expect(text.stdout).toMatch(/^workspace +default \(pro tier\)$/m);
    expect(text.stdout).toMatch(/^credential +API key fy_[\w-]+\*{4} from profile 'local'$/m);
    const version = parseJson<{ cli: string; server: { url: string; version: string | null; error: string | null } }>(await ferry(["version", "--json"]));
    expect(version).toMatchObject({ cli: expect.stringMatching(/^\d+\.\d+\.\d+/), server: { url: server.url, version: me.server_version, error: null } });
    const unreachable = await ferry(["version"], { env: { FERRY_API_URL: "http://127.0.0.1:1" } });
    expectOk(unreachable);
    expect(unreachable.stdout).toMatch(/^server +not reachable at http:\/\/127\.0\.0\.1:1/m);
  });

  it("finds a run by a prefix of its id and by DEPLOYMENT/RUN_NAME", async () => {
    const prefix = runId.slice(0, 23);
    const byPrefix = parseJson<{ flow_run: FlowRun }>(await ferry(["flow-run", "inspect", prefix, "--json"]));
    expect(byPrefix.flow_run.id).toBe(runId);
    const byName = parseJson<{ flow_run: FlowRun }>(await ferry(["run", "inspect", `nightly/${byPrefix.flow_run.name}`, "--json"]));
    expect(byName.flow_run.id).toBe(runId);
    expectRefused(await ferry(["flow-run", "logs", runId.slice(0, 4)]), 2, /is ambiguous: it matches \d+ runs/);
  });

  it("says to add a scheme to a URL without one, and that a server that is not Ferry is not", async () => {
    expectRefused(await ferry(["work-pool", "ls", "--api-url", "localhost:4200"]), 2, /the Ferry API URL 'localhost:4200' has no http:\/\/ or https:\/\/ scheme; add http:\/\/ or https:\/\/ \(e\.g\. http:\/\/localhost:4200\)/);
    const other = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>Welcome to nginx!</title>");
    });
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      expectRefused(await ferry(["work-pool", "ls"], { env: { FERRY_API_URL: url, FERRY_API_KEY: `fy_${"x".repeat(40)}` } }), 4, new RegExp(`${url} is not a Ferry server: GET /api/work-pools answered 200 with an HTML page, not JSON`));
    } finally {
      other.closeAllConnections();
      await new Promise((r) => other.close(r));
    }
  });

  it("refuses a wrong API key with exit code 3", async () => {
    const wrong = await ferry(["work-pool", "ls"], { env: { FERRY_API_KEY: `fy_${"x".repeat(40)}` } });
    expectRefused(wrong, 3, /./);
    expect(wrong.stderr).toMatch(/Hint: the API key comes from FERRY_API_KEY/);
  });

  it("keeps another workspace's runs out of reach (not found, exit 4)", async () => {
    const created = await ferry(["admin", "workspace", "create", "other", "--json"]);
    expectOk(created);
    const other = parseJson<{ workspace: Workspace; api_key: CreatedApiKey }>(created);
    expect(other.workspace.tier).toBe("free");
    const env = { FERRY_API_KEY: other.api_key.key };

    expectRefused(await ferry(["flow-run", "inspect", runId], { env }), 4, /not found/);
    expectRefused(await ferry(["flow-run", "cancel", runId], { env }), 4, /not found/);
    expectRefused(await ferry(["deployment", "run", "etl/nightly"], { env }), 4, /not found/);
    expect(parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--json"], { env }))).toEqual([]);
    expect(parseJson<WorkPool[]>(await ferry(["work-pool", "ls", "--json"], { env }))).toEqual([]);

    const workspaces = parseJson<Workspace[]>(await ferry(["admin", "workspace", "ls", "--json"]));
    expect(workspaces.map((w) => [w.name, w.tier]).sort()).toEqual([
      ["default", "pro"],
      ["other", "free"],
    ]);
    // Oldest first: --limit 1 is the workspace the server made at its first start.
    expect(parseJson<Workspace[]>(await ferry(["admin", "workspace", "ls", "--limit", "1", "--json"])).map((w) => w.name)).toEqual(["default"]);
    expect(parseJson<ApiKey[]>(await ferry(["api-key", "ls", "--limit", "1", "--json"]))).toHaveLength(1);
    expect(parseJson<Credentials[]>(await ferry(["credentials", "ls", "--limit", "5", "--json"])).map((c) => c.name)).toEqual(["flows-repo"]);
    expect(parseJson<WorkPool[]>(await ferry(["work-pool", "ls", "--limit", "1", "--json"]))).toHaveLength(1);
  });

  it("prints JSON and nothing else for every read", async () => {
    const reads = [
      ["profile", "ls"],
      ["profile", "inspect"],
      ["profile", "inspect", "local"],
      ["api-key", "ls"],
      ["work-pool", "ls"],
      ["work-pool", "inspect", "managed-a"],
      ["credentials", "ls"],
      ["credentials", "inspect", "flows-repo"],
      ["credentials", "types"],
      ["deployment", "ls"],
      ["deployment", "inspect", "etl/hourly"],
      ["flow-run", "ls"],
      ["flow-run", "inspect", runId],
      ["flow-run", "logs", runId],
      ["quota"],
      ["admin", "workspace", "ls"],
    ];
    for (const args of reads) {
      const result = await ferry([...args, "--json"]);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(() => JSON.parse(result.stdout), args.join(" ")).not.toThrow();
    }
  }, 240_000); // sixteen CLI processes, each a Node start: minutes on a loaded 2-core machine

  it("stops the server gracefully on SIGINT, and its embedded PostgreSQL with it", async () => {
    const pidFile = join(home, "data", "postgres", "postmaster.pid");
    const postmaster = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
    expect(alive(postmaster)).toBe(true);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/Stopped\./);
    expect(alive(postmaster)).toBe(false);
    await expect(stat(pidFile)).rejects.toThrow(/ENOENT/);
    const down = await ferry(["work-pool", "ls"]);
    expectRefused(down, 6, /could not reach the Ferry server/);
    expect(down.stderr).toMatch(/Hint: the URL .* comes from profile 'local'/);
  });

  it("never prints the secret access key, anywhere", () => {
    const everything = transcript.join("\n");
    expect(everything.length).toBeGreaterThan(1000);
    const leaks = everything.split("\n").filter((line) => line.includes(SECRET_TOKEN));
    expect(leaks).toEqual([]);
  });
});
