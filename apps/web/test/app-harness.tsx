import { render } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider, createMemoryHistory, createRouter } from "@tanstack/react-router";
import { vi } from "vitest";

/**
 * Renders the whole app (real router, query client, FerryClient, pages) at a path, with the network
 * replaced by `handler`: a function answering like the server. Call after `vi.resetModules()` so each
 * test has a fresh query cache; the client takes fetch when it is made, so fetch is replaced first.
 */
export type Handler = (route: string, body: unknown, url: URL) => Response | undefined;

export const now = "2026-12-04T12:00:00Z";
export const workspace = {
  id: "3f1c6a5e-0000-4000-8000-000000000001", name: "acme", tier: "free",
  limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
  limits_override: {}, created_at: now,
};

export const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
export const apiError = (status: number, code: string, message: string) => json(status, { error: { code, message } });

export interface Recorded {
  route: string;
  body: unknown;
}

export async function renderApp(path: string, handler: Handler) {
  const requests: Recorded[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const route = `${init?.method ?? "GET"} ${url.pathname}`;
    const body: unknown = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    requests.push({ route, body });
    if (route === "GET /api/session") return json(200, { workspace, csrf_token: "csrf-1", expires_at: "2026-12-05T00:00:00Z" });
    return handler(route, body, url) ?? apiError(404, "not_found", `no route ${route} in this test`);
  });
  vi.stubGlobal("EventSource", class { close() {} addEventListener() {} });
  const { routeTree, installSignInRedirect } = await import("../src/router.js");
  const { queryClient } = await import("../src/api/query-client.js");
  const router = createRouter({ routeTree, history: createMemoryHistory({ initialEntries: [path] }) });
  installSignInRedirect(router);
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { router, requests };
}
