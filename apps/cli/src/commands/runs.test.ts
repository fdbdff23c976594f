import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../program.js";
import { deployment, flowRun } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions, type FakeRoute } from "../testing/fake-io.js";

const ID = "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const OTHER = "0195a1b2-ffff-7e5f-8a9b-0c1d2e3f4a5b";
const dep = deployment();

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-runs-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function setup(routes: Record<string, FakeRoute>, options: FakeIoOptions = {}) {
  const server = fakeServer(routes);
  const io = fakeIo({ ...options, env: { FERRY_HOME: home, FERRY_API_URL: "http://ferry.test", FERRY_API_KEY: "fy_testkey_0123456789abcdefghijklmnop" }, fetch: server.fetch });
  return { io, requests: server.requests };
}

describe("commands taking a run", () => {
  const one = flowRun({ id: ID, name: "nightly-abc123" });
  const routes = {
    "GET /api/flow-runs": (r) => {
      const prefix = r.query.get("id_prefix");
      const name = r.query.get("name");
      const all = [one, flowRun({ id: OTHER, name: "nightly-def456" })];
      return json(200, { items: all.filter((x) => (!prefix || x.id.startsWith(prefix)) && (!name || x.name === name)), next_cursor: null });
    },
    [`GET /api/flow-runs/${ID}/history`]: () => json(200, { items: [] }),
    [`GET /api/flow-runs/${ID}/logs`]: () => json(200, { items: [], next_cursor: null }),
    [`POST /api/flow-runs/${ID}/cancel`]: () => json(200, flowRun({ id: ID, state: { type: "CANCELLED", name: "Cancelled", message: null, timestamp: one.created_at } })),
  } satisfies Record<string, FakeRoute>;

  it.each([
    ["flow-run", "inspect"],
    ["flow-run", "logs"],
    ["flow-run", "cancel"],
    ["run", "inspect"],
  ])("%s %s takes a unique id prefix and DEPLOYMENT/RUN_NAME", async (group, command) => {
    for (const ref of ["0195a1b2-c3", "nightly/nightly-abc123", "etl/nightly/nightly-abc123"]) {
      const { io, requests } = setup(routes);
      expect(await run([group, command, ref, "--json"], io), io.err()).toBe(0);
      expect(requests.filter((r) => r.path.startsWith(`/api/flow-runs/${ID}`)).length).toBeGreaterThan(0);
    }
  });

  it("lists the candidates of an ambiguous prefix, as a usage error, touching none", async () => {
    const { io, requests } = setup(routes);
    expect(await run(["flow-run", "cancel", "0195a1b2"], io)).toBe(2);
    expect(io.err()).toMatch(new RegExp(`^Error: flow run '0195a1b2' is ambiguous: it matches 2 runs: ${ID} \\(etl/nightly/nightly-abc123, Scheduled\\), ${OTHER} `));
    expect(requests.filter((r) => r.method === "POST")).toEqual([]);
  });
});

describe("flow-run ls on a terminal", () => {
  it("fits the table to the terminal's width, keeping ids whole", async () => {
    const runs = [flowRun({ id: ID, deployment_name: "a-deployment-with-a-very-long-name-indeed", work_pool: "a-pool-with-a-long-name-too" })];
    const { io } = setup({ "GET /api/flow-runs": () => json(200, { items: runs, next_cursor: null }) }, { stdoutIsTTY: true, columns: 100, env: {} });
    expect(await run(["flow-run", "ls"], io)).toBe(0);
    const visible = io.out().replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
    for (const line of visible.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(100);
    expect(visible).toContain(ID);
    expect(visible).toContain("…");
  });
});

describe("deployment run", () => {
  const created = flowRun({ id: ID });
  const routes = {
    "GET /api/deployments": () => json(200, { items: [dep], next_cursor: null }),
    [`POST /api/deployments/${dep.id}/runs`]: () => json(201, { flow_run: created, created: true }),
    [`GET /api/flow-runs/${ID}`]: () => json(200, flowRun({ id: ID, state: { type: "RUNNING", name: "Running", message: null, timestamp: created.created_at } })),
    // A stream that stays open until the client gives up.
    [`GET /api/flow-runs/${ID}/events`]: (r) =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`id: 1\nevent: state\ndata: ${JSON.stringify({ kind: "state", id: "1", flow_run_id: ID, state: { ...created.state, type: "RUNNING", name: "Running" } })}\n\n`));
            r.signal?.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      ),
  } satisfies Record<string, FakeRoute>;

  it("sends --tag, --name and --start-at as the run's tags, name and scheduled start", async () => {
    const { io, requests } = setup(routes);
    expect(await run(["deployment", "run", "etl/nightly", "--tag", "adhoc", "--tag", "backfill", "--name", "backfill-1", "--start-at", "2026-06-01T09:00:00+02:00"], io)).toBe(0);
    expect(requests.find((r) => r.method === "POST")!.body).toEqual({ tags: ["adhoc", "backfill"], name: "backfill-1", scheduled_start_time: "2026-06-01T07:00:00.000Z" });
  });

  it("sends --start-in as a time from now, and refuses it with --start-at or a bad duration", async () => {
    const { io, requests } = setup(routes);
    const before = Date.now();
    expect(await run(["deployment", "run", "etl/nightly", "--start-in", "10m"], io)).toBe(0);
    const at = Date.parse((requests.find((r) => r.method === "POST")!.body as { scheduled_start_time: string }).scheduled_start_time);
    expect(at).toBeGreaterThanOrEqual(before + 600_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 600_000);
    const both = setup(routes);
    expect(await run(["deployment", "run", "etl/nightly", "--start-in", "10m", "--start-at", "2026-06-01T09:00:00Z"], both.io)).toBe(2);
    expect(both.io.err()).toMatch(/option '--start-in <duration>' cannot be used with option '--start-at <time>'/);
    const bad = setup(routes);
    expect(await run(["deployment", "run", "etl/nightly", "--start-in", "soon"], bad.io)).toBe(2);
    expect(bad.io.err()).toMatch(/'soon' is not a duration; use e\.g\. 90s, 10m, 1h30m or 2d/);
    expect(both.requests.concat(bad.requests)).toEqual([]);
  });

  it("--timeout waits (no --watch needed), then stops following with exit 1; the run goes on", async () => {
    const { io, requests } = setup(routes);
    expect(await run(["deployment", "run", "etl/nightly", "--timeout", "1"], io)).toBe(1);
    expect(io.out()).toMatch(/Running/);
    expect(io.err()).toMatch(/Waited 1s: the run is Running\. Stopped following; the run goes on\. Follow it with 'ferry flow-run logs /);
    expect(requests.filter((r) => r.method === "POST" && r.path.endsWith("/cancel"))).toEqual([]);
  });
});
