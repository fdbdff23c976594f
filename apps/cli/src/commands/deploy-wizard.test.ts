import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseProjectFile } from "@ferry/core";
import { run } from "../program.js";
import { deployment, workPool } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions } from "../testing/fake-io.js";
import { findFlows } from "./deploy-wizard.js";

const FLOW = `from ferry import flow

@flow
def etl(day: str = "2026-01-01", n: int = 3):
    print(day, n)

def _helper():
    pass
`;

let repo: string;
let home: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "ferry-wizard-repo-"));
  home = await mkdtemp(join(tmpdir(), "ferry-wizard-home-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("remote", "add", "origin", "https://github.com/acme/flows.git");
  await mkdir(join(repo, "flows"));
  await writeFile(join(repo, "flows", "etl.py"), FLOW);
  await writeFile(join(repo, "flows", "report.ts"), "export async function report({ to }: { to: string }) { return to; }\n");
  await mkdir(join(repo, "node_modules", "dep"), { recursive: true });
  await writeFile(join(repo, "node_modules", "dep", "index.js"), "export function nope() {}\n");
  await writeFile(join(repo, ".gitignore"), "node_modules/\n");
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

function setup(options: FakeIoOptions) {
  const server = fakeServer({
    "GET /api/work-pools": () => json(200, { items: [workPool({ name: "existing" })], next_cursor: null }),
    "POST /api/work-pools": (r) => json(201, workPool({ name: (r.body as { name: string }).name })),
    "GET /api/work-pools/managed": () => json(200, workPool()),
    "GET /api/work-pools/existing": () => json(200, workPool({ name: "existing" })),
    "PUT /api/deployments": (r) => json(200, { deployment: deployment(r.body as object), action: "created" }),
  });
  const io = fakeIo({ cwd: repo, ...options, env: { FERRY_HOME: home, FERRY_API_URL: "http://ferry.test", FERRY_API_KEY: "fy_testkey_0123456789abcdefghijklmnop" }, fetch: server.fetch });
  return { io, requests: server.requests };
}

describe("findFlows", () => {
  it("finds the functions of the repository's flow files, @flow first, skipping ignored files", async () => {
    const flows = await findFlows(repo, true);
    expect(flows.map((f) => f.entrypoint)).toEqual(["flows/etl.py:etl", "flows/report.ts:report"]);
    expect(flows[0]).toMatchObject({ flow: true, parameters: ["day", "n"] });
  });
});

describe("ferry deploy alone", () => {
  it("walks through it on a terminal: flow, new managed pool, name, parameters, schedule; writes ferry.yaml and deploys", async () => {
    const { io, requests } = setup({
      stdinIsTTY: true,
      stderrIsTTY: true,
      replies: ["flows/etl.py:etl", "Create a ferry:managed pool", null, "etl-daily", "2026-02-01", "", "0 9 * * 1-5", "Europe/Paris"],
    });
    expect(await run(["deploy"], io)).toBe(0);
    expect(io.prompts).toEqual([
      "Which flow?",
      "Which work pool runs it?",
      "Name of the new pool",
      "Deployment name",
      "Default for parameter 'day' (string); JSON or text, blank for the code's (\"2026-01-01\")",
      "Default for parameter 'n' (integer); JSON or text, blank for the code's (3)",
      "Cron schedule, e.g. '0 9 * * 1-5' (blank for none)",
      "Its time zone",
    ]);
    expect(requests.find((r) => r.method === "POST")!.body).toEqual({ name: "managed", type: "ferry:managed" });
    const written = parseProjectFile(await readFile(join(repo, "ferry.yaml"), "utf8"));
    expect(written.deployments).toEqual([
      expect.objectContaining({ name: "etl-daily", flow_name: "etl", entrypoint: "flows/etl.py:etl", work_pool: "managed", parameters: { day: "2026-02-01" } }),
    ]);
    expect(written.deployments[0]!.schedules).toEqual([expect.objectContaining({ cron: "0 9 * * 1-5", timezone: "Europe/Paris" })]);
    const applied = requests.find((r) => r.method === "PUT")!.body as Record<string, unknown>;
    expect(applied).toMatchObject({ name: "etl-daily", flow_name: "etl", work_pool: "managed", parameters: { day: "2026-02-01" } });
    expect(io.err()).toMatch(/Wrote ferry\.yaml with deployment etl\/etl-daily\./);
    expect(io.out()).toMatch(/^created +etl\/etl-daily/m);
    expect(io.spinners).toEqual(expect.arrayContaining(["Looking for flows in the repository ✓", "Creating work pool 'managed' ✓", "Checking the deployments against their pools ✓"]));
  });

  it("offers the file's deployments, or a new one added to the file with its comments kept", async () => {
    await writeFile(join(repo, "ferry.yaml"), "# keep me\ndeployments:\n  - { name: hourly, entrypoint: flows/etl.py:etl, work_pool: existing }\n");
    const { io, requests } = setup({ stdinIsTTY: true, replies: ["A new deployment (walk through it)", "flows/report.ts:report", "existing", "weekly", "", ""] });
    expect(await run(["deploy"], io)).toBe(0);
    expect(io.prompts[0]).toBe("Deploy what from ferry.yaml?");
    const text = await readFile(join(repo, "ferry.yaml"), "utf8");
    expect(text).toMatch(/^# keep me\n/);
    expect(parseProjectFile(text).deployments.map((d) => `${d.flow_name}/${d.name}`)).toEqual(["etl/hourly", "report/weekly"]);
    expect(requests.filter((r) => r.method === "PUT").map((r) => (r.body as { name: string }).name)).toEqual(["weekly"]);
    // No spinner without a terminal on stderr.
    expect(io.spinners).toEqual([]);
  });

  it("deploys the deployment picked from the file", async () => {
    await writeFile(join(repo, "ferry.yaml"), "deployments:\n  - { name: hourly, entrypoint: flows/etl.py:etl, work_pool: existing }\n");
    const { io, requests } = setup({ stdinIsTTY: true, replies: ["etl/hourly"] });
    expect(await run(["deploy"], io)).toBe(0);
    expect(requests.filter((r) => r.method === "PUT").map((r) => (r.body as { name: string }).name)).toEqual(["hourly"]);
  });

  it("without a terminal and without ferry.yaml, names the flags to pass, as a usage error", async () => {
    const { io, requests } = setup({ stdinIsTTY: false });
    expect(await run(["deploy"], io)).toBe(2);
    expect(io.err()).toMatch(/^Error: no ferry\.yaml in .* and no terminal to ask on: pass --entrypoint path\/to\/flow\.py:function, --name NAME and --pool POOL/);
    expect(io.prompts).toEqual([]);
    expect(requests).toEqual([]);
  });
});
