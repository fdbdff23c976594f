import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../program.js";
import { flowRun } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions, type FakeRoute } from "../testing/fake-io.js";

const SECRET = "s3cr3t-token-0123456789";
const AT = "2026-12-01T10:00:00.000Z";
let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-vars-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function setup(routes: Record<string, FakeRoute>, options: FakeIoOptions = {}) {
  const server = fakeServer(routes);
  const io = fakeIo({ ...options, env: { FERRY_HOME: home, FERRY_API_URL: "http://ferry.test", FERRY_API_KEY: "fy_testkey_0123456789abcdefghijklmnop" }, fetch: server.fetch });
  return { io, requests: server.requests, run: (...argv: string[]) => run(argv, io) };
}

describe("ferry secret", () => {
  const routes = { "PUT /api/secrets/api_token": () => json(200, { name: "api_token", created_at: AT, updated_at: AT }) };

  it("reads the value from stdin (less its trailing newline), sends it once and never prints it", async () => {
    const { io, run, requests } = setup(routes, { stdin: `${SECRET}\n` });
    expect(await run("secret", "set", "api_token")).toBe(0);
    expect(requests.filter((r) => r.method === "PUT").map((r) => r.body)).toEqual([{ value: SECRET }]);
    expect(io.out()).toMatch(/Set secret 'api_token'/);
    expect(io.out() + io.err()).not.toContain(SECRET);
  });

  it("prompts with hidden input on a terminal", async () => {
    const { run, requests } = setup(routes, { stdinIsTTY: true, answers: [SECRET] });
    expect(await run("secret", "set", "api_token")).toBe(0);
    expect(requests.find((r) => r.method === "PUT")!.body).toEqual({ value: SECRET });
  });

  it("takes no value from argv, and refuses an empty one saying how to give it", async () => {
    const { io, run, requests } = setup(routes, { stdin: "" });
    expect(await run("secret", "set", "api_token", SECRET)).toBe(2);
    expect(await run("secret", "set", "api_token")).not.toBe(0);
    expect(io.err()).toMatch(/no value for secret 'api_token'.*printf %s/);
    expect(requests).toEqual([]);
  });

  it("lists names only, as a table or JSON", async () => {
    const { io, run } = setup({ "GET /api/secrets": () => json(200, { items: [{ name: "api_token", created_at: AT, updated_at: AT }], next_cursor: null }) });
    expect(await run("secret", "ls", "--json")).toBe(0);
    expect(JSON.parse(io.out())).toEqual([{ name: "api_token", created_at: AT, updated_at: AT }]);
  });
});

describe("ferry variable", () => {
  it("sets, gets (plain or JSON), lists and deletes", async () => {
    const variable = { name: "region", value: "eu-west-1", created_at: AT, updated_at: AT };
    const { io, run, requests } = setup({
      "PUT /api/variables/region": () => json(200, variable),
      "GET /api/variables/region": () => json(200, variable),
      "GET /api/variables": () => json(200, { items: [variable], next_cursor: null }),
      "DELETE /api/variables/region": () => json(200, { deleted: true }),
    });
    expect(await run("variable", "set", "region", "eu-west-1")).toBe(0);
    expect(requests.at(-1)!.body).toEqual({ value: "eu-west-1" });
    expect(await run("variable", "get", "region")).toBe(0);
    expect(io.out()).toContain("eu-west-1\n");
    expect(await run("variable", "ls")).toBe(0);
    expect(io.out()).toMatch(/region\s+eu-west-1/);
    expect(await run("variable", "delete", "region")).toBe(0);
    expect(io.out()).toMatch(/Deleted variable 'region'/);
  });
});

describe("ferry flow-run retry", () => {
  it("re-runs a finished run and says which commit it runs; --json prints the answer", async () => {
    const original = flowRun({ state: { type: "FAILED", name: "Failed", message: "boom", timestamp: AT } });
    const rerun = flowRun({ id: "0193a1b2-3c4d-7e8f-9a0b-00000000aaaa", name: "second", rerun_of: original.id, source_commit: "0123456789abcdef0123" });
    const { io, run, requests } = setup({ [`POST /api/flow-runs/${original.id}/retry`]: () => json(201, { flow_run: rerun, created: true }) });
    expect(await run("flow-run", "retry", original.id)).toBe(0);
    expect(io.out()).toMatch(/Created flow run 'second' \(0193a1b2-3c4d-7e8f-9a0b-00000000aaaa\), a re-run of .* at commit 0123456789ab/);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /api/flow-runs/${original.id}/retry`]);
    expect(await run("flow-run", "retry", original.id, "--json")).toBe(0);
    expect(io.out()).toContain('"rerun_of"');
  });
});
