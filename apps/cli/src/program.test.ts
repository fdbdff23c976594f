import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "./program.js";
import { readProfiles, writeProfiles } from "@ferry/client-node";
import { credentials, credentialTypes, deployment, flowRun, workPool } from "./testing/fixtures.js";
import { fakeIo, fakeServer, json, sse, type FakeIoOptions, type FakeRoute } from "./testing/fake-io.js";

const URL_ = "http://ferry.test";
const KEY = "fy_testkey_0123456789abcdefghijklmnop";
const SECRET = "PRIVATE-KEY-0123456789-EXAMPLE";
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function setup(routes: Record<string, FakeRoute>, options: FakeIoOptions = {}) {
  const server = fakeServer(routes);
  const io = fakeIo({
    ...options,
    env: { FERRY_HOME: home, FERRY_API_URL: URL_, FERRY_API_KEY: KEY, ...options.env },
    fetch: server.fetch,
  });
  return { io, requests: server.requests, run: (...argv: string[]) => run(argv, io) };
}

describe("help and usage", () => {
  it("documents the exit codes in --help", async () => {
    const { io, run } = setup({});
    expect(await run("--help")).toBe(0);
    expect(io.out()).toMatch(/Exit codes:\n {2}0 {4}success/);
    expect(io.out()).toMatch(/FERRY_API_KEY/);
  });

  it("reports usage errors with exit code 2", async () => {
    const { io, run } = setup({});
    expect(await run("work-pol")).toBe(2);
    expect(io.err()).toMatch(/^Error: unknown command 'work-pol'\n\(Did you mean work-pool\?\)/);
    expect(await run("flow-run", "ls", "--limit", "zero")).toBe(2);
    expect(io.err()).toMatch(/'zero' is not a whole number/);
  });

  it("says to add a scheme to an API URL without one, before anything else about it", async () => {
    for (const argv of [["work-pool", "ls", "--api-url", "localhost:4200"], ["profile", "set", "p", "--api-url", "127.0.0.1:4200"]]) {
      const { io, run, requests } = setup({}, { env: { FERRY_API_KEY: undefined } });
      expect(await run(...argv)).toBe(2);
      expect(io.err()).toMatch(/^Error: the Ferry API URL '[\w.]+:4200' has no http:\/\/ or https:\/\/ scheme; add http:\/\/ or https:\/\/ \(e\.g\. http:\/\/[\w.]+:4200\)\n/);
      expect(requests).toEqual([]);
    }
  });

  it("checks KEY=VALUE flags before calling the server", async () => {
    const { io, run, requests } = setup({});
    expect(await run("deployment", "run", "etl/nightly", "--param", "oops")).toBe(2);
    expect(io.err()).toMatch(/--param 'oops' must be KEY=VALUE/);
    expect(requests).toEqual([]);
  });
});

describe("reads", () => {
  const pools = [workPool(), workPool({ name: "paused-pool", paused: true, concurrency_limit: 3 })];

  it("prints exactly the API objects with --json", async () => {
    const { io, run, requests } = setup({ "GET /api/work-pools": () => json(200, { items: pools }) });
    expect(await run("work-pool", "ls", "--json")).toBe(0);
    expect(JSON.parse(io.out())).toEqual(pools);
    expect(io.err()).toBe("");
    expect(requests[0]!.headers.get("authorization")).toBe(`Bearer ${KEY}`);
  });

  const quota = {
    tier: "free",
    limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
    period_start: "2026-11-01T00:00:00.000Z",
    usage: { managed_pools: 2, concurrent_managed_runs: 1, queued_managed_runs: 0, compute_seconds: 1800 },
  };
  const routes = { "GET /api/work-pools": () => json(200, { items: pools }), "GET /api/quota": () => json(200, quota) };

  it("prints a plain table when stdout is not a terminal, and colours on one", async () => {
    const plain = setup(routes);
    await plain.run("work-pool", "ls");
    const lines = plain.io.out().trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+STATUS\s+CONCURRENCY\s+TIER USAGE\s+CREDENTIALS\s+CREATED$/);
    expect(lines[1]).toMatch(/^managed\s+ferry:managed\s+ready\s+unlimited\s+1\/1 runs, 0.50\/10 h \(free\)/);
    expect(lines[2]).toMatch(/^paused-pool\s+ferry:managed\s+paused\s+3/);
    expect(lines[1]!.indexOf("ferry:managed")).toBe(lines[0]!.indexOf("TYPE"));
    expect(plain.io.out()).not.toMatch(ANSI);

    const tty = setup(routes, { stdoutIsTTY: true });
    await tty.run("work-pool", "ls");
    expect(tty.io.out()).toMatch(ANSI);

    const noColor = setup(routes, { stdoutIsTTY: true, env: { NO_COLOR: "1" } });
    await noColor.run("work-pool", "ls");
    expect(noColor.io.out()).not.toMatch(ANSI);
  });

  it("pages through flow runs with --all", async () => {
    const runs = [flowRun({ id: "a" }), flowRun({ id: "b" }), flowRun({ id: "c" })];
    const { io, run, requests } = setup({
      "GET /api/flow-runs": (r) => {
        const start = Number(r.query.get("cursor") ?? 0);
        return json(200, { items: runs.slice(start, start + 2), next_cursor: start + 2 < runs.length ? String(start + 2) : null });
      },
    });
    expect(await run("flow-run", "ls", "--all", "--state", "scheduled,running", "--json")).toBe(0);
    expect(JSON.parse(io.out()).map((r: { id: string }) => r.id)).toEqual(["a", "b", "c"]);
    expect(requests.map((r) => r.query.get("state"))).toEqual(["SCHEDULED,RUNNING", "SCHEDULED,RUNNING"]);
  });

  it("refuses an unknown state before asking the server", async () => {
    const { io, run, requests } = setup({});
    expect(await run("flow-run", "ls", "--state", "DONE")).toBe(2);
    expect(io.err()).toMatch(/--state: DONE is not a state; use SCHEDULED, PENDING/);
    expect(requests).toEqual([]);
  });
});

describe("errors", () => {
  it.each([
    [409, "conflict", 5],
    [403, "quota_exceeded", 5],
    [400, "validation_failed", 2],
    [404, "not_found", 4],
    [401, "unauthenticated", 3],
  ])("maps an HTTP %i %s to exit code %i and prints the server's message", async (status, code, exit) => {
    const { io, run } = setup({ "GET /api/work-pools/p": () => json(status, { error: { code, message: `the server says ${code}; do this` } }) });
    expect(await run("work-pool", "inspect", "p")).toBe(exit);
    expect(io.err()).toMatch(new RegExp(`^Error: the server says ${code}; do this\n`));
    expect(io.out()).toBe("");
  });

  it("says where the key came from when it is refused", async () => {
    const { io, run } = setup({ "GET /api/quota": () => json(401, { error: { code: "unauthenticated", message: "the API key is not valid" } }) });
    expect(await run("quota")).toBe(3);
    expect(io.err()).toMatch(/Hint: the API key comes from FERRY_API_KEY/);
  });

  it("hints at the URL's origin when the server is unreachable", async () => {
    await writeProfiles(join(home, "profiles.json"), { active: "local", profiles: { local: { api_url: "http://127.0.0.1:9", api_key: KEY } } });
    const io = fakeIo({ env: { FERRY_HOME: home }, fetch: (async () => { throw new TypeError("fetch failed"); }) as typeof fetch });
    expect(await run(["quota"], io)).toBe(6);
    expect(io.err()).toMatch(/^Error: could not reach the Ferry server at http:\/\/127\.0\.0\.1:9/);
    expect(io.err()).toMatch(/Hint: the URL http:\/\/127\.0\.0\.1:9 comes from profile 'local'/);
  });

  it("explains a missing server URL", async () => {
    const io = fakeIo({ env: { FERRY_HOME: home } });
    expect(await run(["work-pool", "ls"], io)).toBe(2);
    expect(io.err()).toMatch(/no Ferry server is configured: start one with 'ferry server start'/);
  });
});

describe("credentials create", () => {
  const created = credentials();
  const routes = { "GET /api/credential-types": () => json(200, credentialTypes()), "POST /api/credentials": () => json(201, created) };
  const posted = (requests: { method: string; body?: unknown }[]) => requests.filter((r) => r.method === "POST").map((r) => r.body);

  it("takes the secret from stdin and never prints it", async () => {
    const { io, run, requests } = setup(routes, { stdin: `private_key: ${SECRET}\n` });
    const code = await run("credentials", "create", "acme-prod", "--type", "keypair", "--field", "key_id=KEYEXAMPLE", "--from-file", "-");
    expect(code).toBe(0);
    expect(posted(requests)).toEqual([{ name: "acme-prod", type: "keypair", data: { key_id: "KEYEXAMPLE", private_key: SECRET } }]);
    expect(io.out() + io.err()).not.toContain(SECRET);
  });

  it("refuses a secret given as a flag, sending nothing", async () => {
    const { io, run, requests } = setup(routes);
    expect(await run("credentials", "create", "c", "--type", "keypair", "--field", `private_key=${SECRET}`)).toBe(2);
    expect(io.err()).toMatch(/--field private_key: this field is secret/);
    expect(io.out() + io.err()).not.toContain(SECRET);
    expect(posted(requests)).toEqual([]);
  });

  it("prompts with hidden input on a terminal", async () => {
    const { io, run, requests } = setup(routes, { stdinIsTTY: true, answers: [SECRET] });
    expect(await run("credentials", "create", "c", "--type", "keypair", "--field", "key_id=KEYEXAMPLE", "--overwrite")).toBe(0);
    expect(io.prompts).toEqual(["private_key (Private key):"]);
    expect(posted(requests)[0]).toMatchObject({ data: { private_key: SECRET }, overwrite: true });
  });

  it("says how to give a missing secret when nobody can be prompted", async () => {
    const { io, run } = setup(routes);
    expect(await run("credentials", "create", "c", "--type", "git")).toBe(2);
    expect(io.err()).toMatch(/token is required; give it with --from-file FILE or on stdin/);
  });

  it("names the fields of the type when one is unknown", async () => {
    const { io, run } = setup(routes);
    expect(await run("credentials", "create", "c", "--type", "keypair", "--field", "zone=x")).toBe(2);
    expect(io.err()).toMatch(/'zone' is not a field of keypair credentials; fields: key_id, private_key, passphrase, region/);
  });

  it("takes the types from the server, and names them when one is unknown", async () => {
    const { io, run, requests } = setup(routes);
    expect(await run("credentials", "create", "c", "--type", "nope", "--field", "a=b")).toBe(2);
    expect(io.err()).toMatch(/'nope' is not a credentials type of this server; its types: git, keypair/);
    expect(posted(requests)).toEqual([]);
    expect(await run("credentials", "types")).toBe(0);
    expect(io.out()).toMatch(/^keypair\s+key_id!, private_key\*!, passphrase\*, region\s+A key pair of an example cloud\.$/m);
  });
});

describe("profiles", () => {
  it("never prints a key", async () => {
    await writeProfiles(join(home, "profiles.json"), {
      active: "local",
      profiles: { local: { api_url: "http://127.0.0.1:4200", api_key: KEY, admin_token: "fa_admintoken_0123456789abcdefghij" } },
    });
    const io = fakeIo({ env: { FERRY_HOME: home } });
    expect(await run(["profile", "ls"], io)).toBe(0);
    expect(await run(["profile", "ls", "--json"], io)).toBe(0);
    expect(await run(["profile", "inspect"], io)).toBe(0);
    expect(await run(["profile", "inspect", "local", "--json"], io)).toBe(0);
    expect(io.out()).toContain("fy_testke****");
    expect(io.out()).not.toContain(KEY);
    expect(io.out()).not.toContain("fa_admintoken_0123456789abcdefghij");
  });

  it("saves a key read from stdin", async () => {
    const io = fakeIo({ env: { FERRY_HOME: home }, stdin: `${KEY}\n` });
    expect(await run(["profile", "set", "cloud", "--api-url", "https://ferry.example.com/", "--api-key-stdin"], io)).toBe(0);
    const check = fakeIo({ env: { FERRY_HOME: home } });
    await run(["profile", "inspect", "--json"], check);
    expect(JSON.parse(check.out())).toMatchObject({ profile: "cloud", api_url: "https://ferry.example.com", api_key: "fy_testke****" });
  });

  it("sets and clears the providers whose client plugins the profile loads", async () => {
    const io = fakeIo({ env: { FERRY_HOME: home, FERRY_PROVIDERS: "@beta/provider" } });
    expect(await run(["profile", "set", "cloud", "--api-url", "https://ferry.example.com", "--providers", "@acme/ferry-provider, gamma-provider"], io)).toBe(0);
    expect((await readProfiles(join(home, "profiles.json"))).profiles.cloud!.providers).toEqual(["@acme/ferry-provider", "gamma-provider"]);
    const check = fakeIo({ env: { FERRY_HOME: home, FERRY_PROVIDERS: "@beta/provider" } });
    await run(["profile", "inspect", "--json"], check);
    expect(JSON.parse(check.out())).toMatchObject({ providers: ["@acme/ferry-provider", "gamma-provider"], providers_env: ["@beta/provider"] });

    expect(await run(["profile", "set", "cloud", "--providers", "not a package"], io)).toBe(2);
    expect(io.err()).toMatch(/'not a package' is not a package name/);
    expect(await run(["profile", "set", "cloud", "--providers", ""], io)).toBe(0);
    expect((await readProfiles(join(home, "profiles.json"))).profiles.cloud).toEqual({ api_url: "https://ferry.example.com" });
  });
});

describe("deploy", () => {
  const yaml = `
source: { git_url: https://github.com/acme/flows.git, branch: main }
deployments:
  - { name: nightly, entrypoint: flows/etl.py:etl, work_pool: { name: managed, job_variables: { pip_packages: [pandas] } } }
  - { name: hourly, entrypoint: flows/etl.py:etl, work_pool: { name: managed, job_variables: { pip_pakages: [pandas] } } }
`;

  it("checks every deployment before applying any", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml);
    const { io, run, requests } = setup({ "GET /api/work-pools/managed": () => json(200, workPool()) }, { cwd: home });
    expect(await run("deploy", "--all")).toBe(2);
    expect(io.err()).toMatch(/job variables of etl\/hourly are invalid .*\/pip_pakages is not a known field; nothing was applied/);
    expect(requests.filter((r) => r.method === "PUT")).toEqual([]);
  });

  it("applies what the file selects and prints what happened", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml.replace("pip_pakages", "pip_packages"));
    const { io, run, requests } = setup(
      {
        "GET /api/work-pools/managed": () => json(200, workPool()),
        "PUT /api/deployments": (r) => json(200, { deployment: deployment(r.body as object), action: "created" }),
      },
      { cwd: home },
    );
    expect(await run("deploy", "hourly")).toBe(0);
    expect(requests.filter((r) => r.method === "PUT").map((r) => r.body)).toEqual([
      {
        name: "hourly",
        flow_name: "etl",
        entrypoint: "flows/etl.py:etl",
        work_pool: "managed",
        job_variables: { pip_packages: ["pandas"] },
        source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
      },
    ]);
    expect(io.out()).toMatch(/^created {4}etl\/hourly {2}pool managed, https:\/\/github\.com\/acme\/flows\.git@main$/m);
  });

  it("takes a missing source from the git repository, without the credentials in its URL", async () => {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: home, stdio: "pipe" });
    git("init", "-q", "-b", "main");
    git("remote", "add", "origin", "https://x-access-token:ghs_secret@github.com/acme/flows.git");
    await writeFile(join(home, "ferry.yaml"), "deployments:\n  - { name: nightly, entrypoint: flows/etl.py:etl, work_pool: managed }\n");
    const { io, run, requests } = setup(
      {
        "GET /api/work-pools/managed": () => json(200, workPool()),
        "PUT /api/deployments": (r) => json(200, { deployment: deployment(r.body as object), action: "created" }),
      },
      { cwd: home },
    );
    expect(await run("deploy")).toBe(0);
    expect((requests.find((r) => r.method === "PUT")!.body as { source: unknown }).source).toEqual({
      git_url: "https://github.com/acme/flows.git",
      branch: "main",
    });
    expect(io.err()).toMatch(/Source: https:\/\/github\.com\/acme\/flows\.git@main \(from the git repository in /);
    expect(io.err()).toMatch(/Warning: the 'origin' URL contains credentials/);
    expect(io.out() + io.err()).not.toContain("ghs_secret");
  });

  it("says what to do outside a git repository", async () => {
    await writeFile(join(home, "ferry.yaml"), "deployments:\n  - { name: nightly, entrypoint: flows/etl.py:etl, work_pool: managed }\n");
    const { io, run, requests } = setup({}, { cwd: home });
    expect(await run("deploy")).toBe(2);
    expect(io.err()).toMatch(/is not inside a git repository, so the deployment's source is unknown; give it with --git-url/);
    expect(requests).toEqual([]);
  });

  it("asks which deployments when the file has several", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml);
    const { io, run } = setup({}, { cwd: home });
    expect(await run("deploy")).toBe(2);
    expect(io.err()).toMatch(/ferry\.yaml has 2 deployments \(etl\/nightly, etl\/hourly\); name the ones to deploy, or pass --all/);
  });

  it("refuses a token in --git-url before sending anything", async () => {
    const { io, run, requests } = setup({}, { cwd: home });
    const code = await run("deploy", "--name", "n", "--entrypoint", "a.py:a", "--pool", "p", "--git-url", "https://u:ghp_tok@github.com/a/b.git");
    expect(code).toBe(2);
    expect(io.err()).toMatch(/--git-url contains a password or token/);
    expect(requests).toEqual([]);
  });

  it("refuses definition flags without --entrypoint", async () => {
    const { io, run } = setup({}, { cwd: home });
    expect(await run("deploy", "--pool", "x")).toBe(2);
    expect(io.err()).toMatch(/--pool describes a deployment from flags and needs --entrypoint/);
  });
});

describe("deployment run --watch", () => {
  const dep = deployment();
  const state = (type: string, name: string, id: string) => ({
    event: "state",
    id,
    data: { kind: "state", id, flow_run_id: "r", state: { id, type, name, message: null, timestamp: "2026-01-01T00:00:00.000Z" } },
  });
  const log = (id: string, message: string) => ({
    event: "log",
    id,
    data: { kind: "log", id, flow_run_id: "r", log: { id, flow_run_id: "r", level: "info", message, timestamp: "2026-01-01T00:00:01.000Z", source: "flow" } },
  });

  function routes(final: "COMPLETED" | "FAILED") {
    const run = flowRun({ id: "r" });
    const finalName = final === "COMPLETED" ? "Completed" : "Failed";
    return {
      "GET /api/deployments": () => json(200, { items: [dep] }),
      [`POST /api/deployments/${dep.id}/runs`]: () => json(201, { flow_run: run, created: true }),
      "GET /api/flow-runs/r/events": () => sse([state("SCHEDULED", "Scheduled", "1"), log("2", "hello from the flow"), state(final, finalName, "3"), { event: "end" }]),
      "GET /api/flow-runs/r": () => json(200, flowRun({ id: "r", state: { type: final, name: finalName, message: null, timestamp: "2026-01-01T00:00:02.000Z" } } as never)),
    } satisfies Record<string, FakeRoute>;
  }

  it("streams states and logs and exits 0 when the run completes", async () => {
    const { io, run, requests } = setup(routes("COMPLETED"));
    expect(await run("deployment", "run", "etl/nightly", "--param", "day=2026-01-01", "--param", "n=3", "--idempotency-key", "k1", "--watch")).toBe(0);
    expect(requests.find((r) => r.method === "POST")!.body).toEqual({ parameters: { day: "2026-01-01", n: 3 }, idempotency_key: "k1" });
    expect(io.out()).toMatch(/Scheduled[\s\S]*hello from the flow[\s\S]*Completed/);
    expect(io.out()).toMatch(/ended Completed/);
    expect(io.out()).toContain(`View it at ${URL_}/runs/r\n`);
  });

  it("links to the run's page in the web UI without --watch", async () => {
    const { io, run } = setup(routes("COMPLETED"));
    expect(await run("deployment", "run", "etl/nightly")).toBe(0);
    expect(io.out()).toMatch(/Created flow run .*\nView it at http:\/\/ferry\.test\/runs\/r\n$/);
  });

  it("exits 1 when the run does not complete, and --json prints only the final run", async () => {
    const { io, run } = setup(routes("FAILED"));
    expect(await run("deployment", "run", "etl/nightly", "--watch", "--json")).toBe(1);
    expect(JSON.parse(io.out())).toMatchObject({ id: "r", state: { type: "FAILED" } });
  });
});

describe("ui", () => {
  const link = { url: `${URL_}/auth/login?token=fl_abc`, expires_at: "2026-01-01T00:01:00.000Z" };
  const routes = { "POST /api/login-links": () => json(201, link) } satisfies Record<string, FakeRoute>;

  it("opens the browser on a single-use sign-in link, printing no link", async () => {
    const { io, run, requests } = setup(routes);
    expect(await run("ui", "/runs/r1")).toBe(0);
    expect(io.opened).toEqual([link.url]);
    expect(requests[0]!.body).toEqual({ path: "/runs/r1" });
    expect(requests[0]!.headers.get("authorization")).toBe(`Bearer ${KEY}`);
    expect(io.out() + io.err()).not.toContain("fl_abc");
  });

  it("prints the link with --no-open, saying it is single-use and valid 60 s", async () => {
    const { io, run, requests } = setup(routes);
    expect(await run("ui", "--no-open")).toBe(0);
    expect(io.opened).toEqual([]);
    expect(requests[0]!.body).toEqual({});
    expect(io.out()).toBe(`${link.url}\n`);
    expect(io.err()).toMatch(/signs in once and only within 60 seconds/);
  });

  it("prints the link when no browser could be opened", async () => {
    const { io, run } = setup(routes, { browser: false });
    expect(await run("ui")).toBe(0);
    expect(io.out()).toBe(`${link.url}\n`);
    expect(io.err()).toMatch(/No browser could be opened/);
  });
});
