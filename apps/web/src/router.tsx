import { createRootRoute, createRoute, createRouter, lazyRouteComponent, redirect } from "@tanstack/react-router";
import { Layout } from "./components/layout.js";

/**
 * Every page is its own chunk (lazyRouteComponent), so the first load carries the shell and one page.
 * Paths are part of the product: the CLI, the GitHub Action and the VS Code extension link to
 * /runs/{id}; keep them stable.
 */
const rootRoute = createRootRoute({ component: Layout });

const page = <P extends string>(path: P, load: () => Promise<{ default: React.ComponentType }>) =>
  createRoute({ getParentRoute: () => rootRoute, path, component: lazyRouteComponent(load) });

const indexRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/runs" });
  },
});

export const routeTree = rootRoute.addChildren([
  indexRoute,
  page("/sign-in", () => import("./pages/sign-in.js")),
  page("/work-pools", () => import("./pages/work-pools.js")),
  page("/work-pools/$name", () => import("./pages/work-pool.js")),
  page("/quota", () => import("./pages/quota.js")),
  page("/credentials", () => import("./pages/credentials.js")),
  page("/deployments", () => import("./pages/deployments.js")),
  page("/deployments/$id", () => import("./pages/deployment.js")),
  page("/runs", () => import("./pages/runs.js")),
  page("/runs/$id", () => import("./pages/run.js")),
  page("/api-keys", () => import("./pages/api-keys.js")),
]);

export const router = createRouter({ routeTree, defaultPreload: "intent" });

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
