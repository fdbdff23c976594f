import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider, createMemoryHistory, createRouter } from "@tanstack/react-router";
import { fixtures } from "./fixtures/schemas.js";

const MANAGED_VARIABLES = fixtures.jobVariables.find((f) => f.source === "@ferry/core MANAGED_BASE_JOB_TEMPLATE")!.schema;

/**
 * The run dialog on the deployment page, with the real router, query client, FerryClient and schema
 * form; the network is a fetch answering like the server. What matters is the body createFlowRun gets.
 */
const DEPLOYMENT_ID = "6d7a2c1e-0000-4000-8000-0000000000d1";
const RUN_ID = "0b1c2d3e-0000-4000-8000-0000000000a1";
const now = "2026-12-04T12:00:00Z";
const workspace = {
  id: "3f1c6a5e-0000-4000-8000-000000000001", name: "acme", tier: "free",
  limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
  limits_override: {}, created_at: now,
};
const deployment = {
  id: DEPLOYMENT_ID, flow_name: "etl", name: "nightly", work_pool: "managed",
  source: { git_url: "https://example.com/acme/flows.git", branch: "main", commit: null }, entrypoint: "flows/etl.py:main",
  job_variables: { npm_packages: ["left-pad"] }, parameters: { name: "world" },
  parameter_schema: {
    type: "object",
    properties: { name: { type: "string", title: "Name" }, count: { type: "integer", title: "Count", default: 1 } },
    required: ["name"],
  },
  pull_steps: null, tags: [], description: null, paused: false, schedules: [], catchup_policy: "skip", catchup_max_runs: 1, concurrency_limit: null, collision_strategy: "enqueue", late_after_seconds: 60, created_at: now, updated_at: now,
};
const pool = {
  id: "1a2b3c4d-0000-4000-8000-0000000000b1", name: "managed", type: "ferry:managed", description: null,
  base_job_template: { variables: MANAGED_VARIABLES, job_configuration: {} },
  concurrency_limit: null, paused: false, credentials: null, active_runs: 0, created_at: now, updated_at: now,
};
const run = {
  id: RUN_ID, name: "brave-otter", deployment_id: DEPLOYMENT_ID, deployment_name: "nightly", flow_name: "etl", work_pool: "managed",
  work_pool_type: "ferry:managed", state: { type: "SCHEDULED", name: "Scheduled", message: null, timestamp: now }, parameters: {}, job_variables: {},
  job_configuration: null, infrastructure_id: null, idempotency_key: null, tags: [], created_at: now, updated_at: now, expected_start_time: null, start_time: null, end_time: null,
  compute_seconds: 0,
};

let runBodies: unknown[] = [];
let withoutSchema = false;
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function fakeServer(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input));
  const route = `${init?.method ?? "GET"} ${url.pathname}`;
  if (route === "GET /api/session") return json(200, { workspace, csrf_token: "csrf-1", expires_at: "2026-12-05T00:00:00Z" });
  if (route === `GET /api/deployments/${DEPLOYMENT_ID}`) return json(200, withoutSchema ? { ...deployment, parameter_schema: null } : deployment);
  if (route === "GET /api/work-pools/managed") return json(200, pool);
  if (route === `POST /api/deployments/${DEPLOYMENT_ID}/runs`) {
    runBodies.push(JSON.parse(String(init?.body)));
    return json(201, { flow_run: run, created: true });
  }
  if (route === `GET /api/flow-runs/${RUN_ID}`) return json(200, run);
  if (url.pathname.startsWith("/api/")) return json(200, { items: [], next_cursor: null });
  return json(404, { error: { code: "not_found", message: `no route ${route}` } });
}

beforeEach(() => {
  runBodies = [];
  withoutSchema = false;
  vi.stubGlobal("fetch", fakeServer);
  vi.stubGlobal("EventSource", class { close() {} addEventListener() {} });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

async function openRunDialog() {
  const { routeTree } = await import("../src/router.js");
  const { queryClient } = await import("../src/api/query-client.js");
  const router = createRouter({ routeTree, history: createMemoryHistory({ initialEntries: [`/deployments/${DEPLOYMENT_ID}`] }) });
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  expect(await screen.findByRole("heading", { name: "etl/nightly" })).toBeTruthy();
  await userEvent.click(screen.getByRole("button", { name: "Run" }));
  const dialog = await screen.findByRole("dialog", { name: "Run etl/nightly" });
  await within(dialog).findByLabelText(withoutSchema ? "Parameters (JSON)" : /^Name/);
  return { router, dialog };
}

describe("the run dialog", () => {
  it("starts the run with the parameters and the deployment's defaults, no job variables, no key", async () => {
    const { router, dialog } = await openRunDialog();
    const name = within(dialog).getByLabelText(/^Name/) as HTMLInputElement;
    expect(name.value).toBe("world");
    await userEvent.clear(name);
    await userEvent.type(name, "Ferry");
    await userEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${RUN_ID}`));
    expect(runBodies).toEqual([{ parameters: { name: "Ferry", count: 1 } }]);
  });

  it("sends only the job variables changed, pip_packages included, and the idempotency key when typed", async () => {
    const { router, dialog } = await openRunDialog();
    await userEvent.click(within(dialog).getByRole("button", { name: "Job variables" }));
    await userEvent.click(within(dialog).getByRole("button", { name: "Add pip_packages item" }));
    await userEvent.type(within(dialog).getByRole("textbox", { name: "pip_packages item 1" }), "requests==2.32.3");
    await userEvent.click(within(dialog).getByRole("button", { name: "Advanced" }));
    await userEvent.type(within(dialog).getByLabelText("Idempotency key"), "nightly-2026-12-04");
    await userEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${RUN_ID}`));
    expect(runBodies).toEqual([
      { parameters: { name: "world", count: 1 }, job_variables: { pip_packages: ["requests==2.32.3"] }, idempotency_key: "nightly-2026-12-04" },
    ]);
  });

  it("does not start a run while a required parameter is empty", async () => {
    const { dialog } = await openRunDialog();
    await userEvent.clear(within(dialog).getByLabelText(/^Name/));
    await userEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(within(dialog).getAllByText(/required|empty|Give/i).length).toBeGreaterThan(0));
    expect(runBodies).toEqual([]);
  });

  it("takes parameters as JSON when the flow has no schema, refusing what is not an object", async () => {
    withoutSchema = true;
    const { router, dialog } = await openRunDialog();
    const box = within(dialog).getByLabelText("Parameters (JSON)") as HTMLTextAreaElement;
    expect(JSON.parse(box.value)).toEqual({ name: "world" });
    await userEvent.clear(box);
    await userEvent.type(box, "[[1, 2]");
    await userEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    expect(await within(dialog).findByText('Parameters must be a JSON object, e.g. {"name": "value"}')).toBeTruthy();
    expect(runBodies).toEqual([]);
    await userEvent.clear(box);
    await userEvent.type(box, '{{"name": "json"}');
    await userEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(`/runs/${RUN_ID}`));
    expect(runBodies).toEqual([{ parameters: { name: "json" } }]);
  });
});
