import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, json, now, renderApp } from "./app-harness.js";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

const quota = {
  tier: "free",
  limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
  period_start: "2026-12-01T00:00:00Z",
  usage: { managed_pools: 1, concurrent_managed_runs: 1, queued_managed_runs: 2, compute_seconds: 5400 },
};
const days = Array.from({ length: 30 }, (_, i) => ({ date: `2026-11-${String(i + 1).padStart(2, "0")}`, compute_hours: i === 29 ? 1.5 : 0 }));

describe("quota", () => {
  it("shows the tier and used / limit in the test ids, with the chart's total", async () => {
    const { requests } = await renderApp("/quota", (route) => {
      if (route === "GET /api/quota") return json(200, quota);
      if (route === "GET /api/quota/usage") return json(200, { items: days });
    });
    expect(await screen.findByRole("heading", { name: "Quota" })).toBeTruthy();
    expect((await screen.findByTestId("quota-compute-hours")).textContent).toBe("1.5 / 10");
    expect(screen.getByTestId("quota-concurrent-runs").textContent).toBe("1 / 1");
    expect(screen.getByTestId("quota-pools").textContent).toBe("1 / 1");
    expect(screen.getByText("2 waiting for a slot")).toBeTruthy();
    expect(await screen.findByText(/1\.5 compute hours over the last 30 days/)).toBeTruthy();
    expect(requests.some((r) => r.route === "GET /api/quota/usage")).toBe(true);
  });
});

describe("a session that ends while a page is open", () => {
  it("sends the next 401 to sign-in, coming back to the page", async () => {
    const { router } = await renderApp("/quota", (route) => {
      if (route === "GET /api/quota" || route === "GET /api/quota/usage") return apiError(401, "unauthenticated", "the session has expired; sign in again");
    });
    await waitFor(() => expect(router.state.location.pathname).toBe("/sign-in"));
    expect(router.state.location.search).toEqual({ next: "/quota" });
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeTruthy();
  });
});

describe("deployments", () => {
  const deployment = (id: string, flow: string, name: string, pool: string, tags: string[]) => ({
    id, flow_name: flow, name, work_pool: pool, source: { git_url: "https://example.com/r.git" }, entrypoint: "flows/x.py:main", job_variables: {},
    parameters: {}, parameter_schema: null, pull_steps: null, tags, description: null, paused: false, schedules: [], catchup_policy: "skip", catchup_max_runs: 1, concurrency_limit: null, collision_strategy: "enqueue", late_after_seconds: 60, created_at: now, updated_at: now,
  });
  const items = [deployment("d1", "etl", "nightly", "managed", ["finance"]), deployment("d2", "report", "weekly", "push-pool", []), deployment("d3", "etl", "adhoc", "push-pool", [])];

  it("lists deployments linked by flow/name with their total; the server searches and filters by pool", async () => {
    const asked: URLSearchParams[] = [];
    await renderApp("/deployments", (route, _body, url) => {
      if (route === "GET /api/work-pools") return json(200, { items: [{ id: "p1", name: "managed" }, { id: "p2", name: "push-pool" }], next_cursor: null });
      if (route !== "GET /api/deployments") return undefined;
      asked.push(url.searchParams);
      // As the server answers: every word in flow/name, pool or tags; the pool by name.
      const words = (url.searchParams.get("search") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
      const pool = url.searchParams.get("work_pool");
      const found = items.filter((d) => (!pool || d.work_pool === pool) && words.every((w) => `${d.flow_name}/${d.name} ${d.work_pool} ${d.tags.join(" ")}`.includes(w)));
      return json(200, { items: found, next_cursor: null, ...(url.searchParams.get("include_total") === "true" ? { total: found.length, total_is_estimate: false } : {}) });
    });
    const links = async () => within(await screen.findByRole("table", { name: "Deployments" })).getAllByRole("link").map((a) => a.textContent).filter((t) => t!.includes("/"));
    expect(await links()).toEqual(["etl/nightly", "report/weekly", "etl/adhoc"]);
    expect(screen.getByText("Showing 3 of 3 deployments")).toBeTruthy();
    await userEvent.type(screen.getByLabelText("Search"), "etl");
    await waitFor(async () => expect(await links()).toEqual(["etl/nightly", "etl/adhoc"]));
    await userEvent.selectOptions(await screen.findByLabelText("Work pool"), "push-pool");
    await waitFor(async () => expect(await links()).toEqual(["etl/adhoc"]));
    await userEvent.type(screen.getByLabelText("Search"), " finance");
    expect(await screen.findByText("No deployment matches")).toBeTruthy();
    const last = asked[asked.length - 1]!;
    expect([last.get("search"), last.get("work_pool"), last.get("limit")]).toEqual(["etl finance", "push-pool", "50"]);
    // Typing is settled before asking: not one request per letter.
    expect(asked.length).toBeLessThan(8);
  });

  it("a deployment's page shows its source, entrypoint and pool, and says when it is gone", async () => {
    await renderApp("/deployments/d1", (route) => {
      if (route === "GET /api/deployments/d1") return json(200, { ...items[0], source: { git_url: "https://example.com/r.git", branch: "main", commit: "abc1234" } });
      if (route === "GET /api/flow-runs") return json(200, { items: [], next_cursor: null });
    });
    expect(await screen.findByRole("heading", { name: "etl/nightly" })).toBeTruthy();
    expect(screen.getByText("https://example.com/r.git")).toBeTruthy();
    expect(screen.getByText("abc1234")).toBeTruthy();
    expect(screen.getByText("flows/x.py:main")).toBeTruthy();
    expect(within(screen.getByRole("main")).getByRole("link", { name: "managed" }).getAttribute("href")).toBe("/work-pools/managed");
  });

  it("a deployment's page shows its schedules with their next runs, and pauses one", async () => {
    const schedule = { id: "s1", active: true, cron: "0 9 * * 1-5", timezone: "Europe/Berlin" };
    let active = true;
    const patches: unknown[] = [];
    await renderApp("/deployments/d1", (route, body) => {
      if (route === "GET /api/deployments/d1") return json(200, { ...items[0], schedules: [{ ...schedule, active }], concurrency_limit: 1, collision_strategy: "cancel_new" });
      if (route === "GET /api/deployments/d1/schedules") {
        return json(200, { items: [{ ...schedule, active, next_runs: active ? ["2026-12-07T08:00:00.000Z", "2026-12-08T08:00:00.000Z"] : [] }] });
      }
      if (route === "PATCH /api/deployments/d1/schedules/s1") {
        patches.push(body);
        active = false;
        return json(200, { ...items[0], schedules: [{ ...schedule, active }] });
      }
      if (route === "GET /api/flow-runs") return json(200, { items: [], next_cursor: null });
    });
    const table = await screen.findByRole("table", { name: "Schedules of etl/nightly" });
    expect(within(table).getByText("cron 0 9 * * 1-5 (Europe/Berlin)")).toBeTruthy();
    expect(within(table).getAllByRole("listitem")).toHaveLength(2);
    expect(screen.getByText("1 at a time (new runs past it are cancelled)")).toBeTruthy();
    await userEvent.click(within(table).getByRole("button", { name: "Pause schedule cron 0 9 * * 1-5 (Europe/Berlin)" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Schedules of etl/nightly" })).getByText("Paused")).toBeTruthy());
    expect(patches).toEqual([{ active: false }]);
  });

  it("a deployment that does not exist says so, with the way back", async () => {
    await renderApp("/deployments/nope", (route) => {
      if (route === "GET /api/deployments/nope") return apiError(404, "not_found", "deployment 'nope' was not found");
    });
    expect(await screen.findByText("This deployment was not found")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Back to deployments" })).toBeTruthy();
  });
});

describe("the shell", () => {
  it("names the workspace and tier, links every page from the Main nav, and folds the nav behind Menu on a narrow screen", async () => {
    const { router } = await renderApp("/api-keys", (route) => {
      if (route === "GET /api/api-keys") return json(200, { items: [] });
      if (route === "GET /api/work-pools") return json(200, { items: [] });
    });
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(within(nav).getAllByRole("link").map((a) => a.textContent)).toEqual(["Flow runs", "Deployments", "Work pools", "Credentials", "Variables", "Quota", "API keys"]);
    expect(within(nav).getByRole("link", { name: "API keys" }).getAttribute("aria-current")).toBe("page");
    expect(screen.getByText("acme")).toBeTruthy();
    expect(screen.getByText("free")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Skip to content" }).getAttribute("href")).toBe("#main");
    const menu = screen.getByRole("button", { name: "Menu" });
    expect(menu.getAttribute("aria-expanded")).toBe("false");
    await userEvent.click(menu);
    expect(menu.getAttribute("aria-expanded")).toBe("true");
    await userEvent.click(within(nav).getByRole("link", { name: "Work pools" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/work-pools"));
    // Following a link closes the menu.
    await waitFor(() => expect(screen.getByRole("button", { name: "Menu" }).getAttribute("aria-expanded")).toBe("false"));
  });
});
