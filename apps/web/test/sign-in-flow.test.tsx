import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider, createMemoryHistory, createRouter } from "@tanstack/react-router";

/**
 * The signed-out guard with the real router, query client and FerryClient; only the network is
 * replaced, by a fetch that answers like the server's session routes.
 */
const KEY = "fk_test_key";
const session = {
  workspace: {
    id: "3f1c6a5e-0000-4000-8000-000000000001", name: "acme", tier: "free",
    limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
    limits_override: {}, created_at: "2026-12-01T00:00:00Z",
  },
  csrf_token: "csrf-1",
  expires_at: "2026-12-05T00:00:00Z",
};
let signedIn = false;
const requests: Array<{ method: string; path: string; body: string | null; csrf: string | null }> = [];

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const unauthenticated = () => json(401, { error: { code: "unauthenticated", message: "sign in: no session or API key" } });

async function fakeServer(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input));
  const method = init?.method ?? "GET";
  const headers = new Headers(init?.headers);
  requests.push({ method, path: url.pathname, body: typeof init?.body === "string" ? init.body : null, csrf: headers.get("x-csrf-token") });
  if (method === "POST" && url.pathname === "/api/sessions") {
    const { api_key } = JSON.parse(String(init?.body)) as { api_key: string };
    if (api_key !== KEY) return unauthenticated();
    signedIn = true;
    return json(201, session);
  }
  if (!signedIn) return unauthenticated();
  if (url.pathname === "/api/session" && method === "GET") return json(200, session);
  if (url.pathname === "/api/session" && method === "DELETE") {
    signedIn = false;
    return json(200, { deleted: true });
  }
  if (url.pathname === "/api/flow-runs" || url.pathname === "/api/work-pools" || url.pathname === "/api/deployments") return json(200, { items: [], next_cursor: null });
  return json(404, { error: { code: "not_found", message: `nothing at ${url.pathname} in this test` } });
}

beforeEach(() => {
  signedIn = false;
  requests.length = 0;
  vi.stubGlobal("fetch", fakeServer);
  vi.stubGlobal("EventSource", class { close() {} addEventListener() {} });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

async function renderAt(path: string) {
  // Imported after fetch is replaced: the client takes fetch when it is made.
  const { routeTree } = await import("../src/router.js");
  const { queryClient } = await import("../src/api/query-client.js");
  const router = createRouter({ routeTree, history: createMemoryHistory({ initialEntries: [path] }) });
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

describe("signed out", () => {
  it("a visit to a run page asks to sign in, then returns to the run page", async () => {
    const router = await renderAt("/runs/0b1c2d3e?tab=logs");
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeTruthy();
    expect(router.state.location.pathname).toBe("/sign-in");
    expect(router.state.location.search).toEqual({ next: "/runs/0b1c2d3e?tab=logs" });

    const field = screen.getByLabelText("API key");
    expect(field.getAttribute("type")).toBe("password");
    expect(field.getAttribute("autocomplete")).toBe("off");

    await userEvent.type(field, "fk_wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("sign in: no session or API key");
    expect(router.state.location.pathname).toBe("/sign-in");

    await userEvent.clear(field);
    await userEvent.type(field, KEY);
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(router.state.location.href).toBe("/runs/0b1c2d3e?tab=logs"));
    expect(await screen.findByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(screen.getByText("acme")).toBeTruthy();
    // The key went into the one sign-in request and nowhere else.
    const withKey = requests.filter((r) => (r.body ?? "").includes(KEY) || r.path.includes(KEY));
    expect(withKey.map((r) => r.path)).toEqual(["/api/sessions"]);
    expect(JSON.stringify(sessionStorage) + JSON.stringify(localStorage)).not.toContain(KEY);

    // Signing out sends the CSRF token, ends the session and lands on sign-in.
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/sign-in"));
    expect(requests.find((r) => r.method === "DELETE" && r.path === "/api/session")?.csrf).toBe("csrf-1");
  });

  it("does not follow a next that leaves the site", async () => {
    const router = await renderAt("/sign-in?next=%2F%2Fevil.example%2Fx");
    await userEvent.type(await screen.findByLabelText("API key"), KEY);
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/runs"));
  });
});
