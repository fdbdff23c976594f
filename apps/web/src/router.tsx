import { Outlet, createRootRoute, useRouter, type AnyRouter, type ErrorComponentProps, createRoute, createRouter, lazyRouteComponent, redirect } from "@tanstack/react-router";
import { Layout } from "./components/layout.js";
import { queryClient, setUnauthenticatedHandler } from "./api/query-client.js";
import { setCsrfToken } from "./api/client.js";
import { sessionQuery } from "./api/session.js";
import { isUnauthenticated } from "./api/errors.js";
import { ErrorState, NotFound } from "./components/states.js";
import { parseRunsSearch } from "./api/runs-search.js";

/**
 * Every page is its own chunk (lazyRouteComponent), so the first load carries the shell and one page.
 * Paths are part of the product: the CLI, the GitHub Action and the VS Code extension link to
 * /runs/{id}; keep them stable.
 */
const rootRoute = createRootRoute({ component: Outlet });

/** `?next=` of the sign-in page: kept as given here, checked (local paths only) where it is used. */
export interface SignInSearch {
  next?: string;
}

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  validateSearch: (search: Record<string, unknown>): SignInSearch => (typeof search.next === "string" ? { next: search.next } : {}),
  component: lazyRouteComponent(() => import("./pages/sign-in.js")),
});

/**
 * Every other page needs a session: signed out, the visit goes to /sign-in with the page it wanted as
 * `next`. The session query is cached, so this is one request per session, not per navigation.
 */
const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  component: Layout,
  beforeLoad: async ({ location }) => {
    try {
      await queryClient.ensureQueryData(sessionQuery);
    } catch (error) {
      if (isUnauthenticated(error)) throw redirect({ to: "/sign-in", search: { next: location.href } });
      throw error;
    }
  },
});

const page = <P extends string>(path: P, load: () => Promise<{ default: React.ComponentType }>) =>
  createRoute({ getParentRoute: () => appRoute, path, component: lazyRouteComponent(load) });

const indexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/runs" });
  },
});

/** The runs list keeps its filters in the URL (validated here), so a filtered view is a link. */
const runsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/runs",
  validateSearch: parseRunsSearch,
  component: lazyRouteComponent(() => import("./pages/runs.js")),
});

export const routeTree = rootRoute.addChildren([
  signInRoute,
  appRoute.addChildren([
    indexRoute,
    page("/work-pools", () => import("./pages/work-pools.js")),
    page("/work-pools/$name", () => import("./pages/work-pool.js")),
    page("/quota", () => import("./pages/quota.js")),
    page("/credentials", () => import("./pages/credentials.js")),
    page("/variables", () => import("./pages/variables.js")),
    page("/deployments", () => import("./pages/deployments.js")),
    page("/deployments/$id", () => import("./pages/deployment.js")),
    runsRoute,
    page("/runs/$id", () => import("./pages/run.js")),
    page("/api-keys", () => import("./pages/api-keys.js")),
  ]),
]);

function RouteError({ error }: ErrorComponentProps) {
  const current = useRouter();
  return (
    <div className="mx-auto max-w-2xl p-6">
      <ErrorState error={error} retry={() => void current.invalidate()} />
    </div>
  );
}

export const router = createRouter({
  routeTree,
  defaultPreload: "intent",
  // A failure before a page could load (the server unreachable during the session check): say so, offer a retry.
  defaultErrorComponent: RouteError,
  defaultNotFoundComponent: () => <NotFound what="This page" back={{ to: "/runs", label: "Go to flow runs" }} />,
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}

/**
 * The session ended while a page was open (expired, signed out in another tab): any query or mutation
 * answering 401 forgets everything cached and asks to sign in, coming back here afterwards.
 */
export function installSignInRedirect(target: AnyRouter): void {
  setUnauthenticatedHandler(() => {
    const here = target.state.location;
    if (here.pathname === "/sign-in") return;
    setCsrfToken(null);
    queryClient.clear();
    void target.navigate({ to: "/sign-in", search: { next: here.href } });
  });
}
