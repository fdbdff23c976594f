import { useState } from "react";
import { Link, Outlet, useRouterState } from "@tanstack/react-router";
import { Menu } from "lucide-react";
import { useSession, useSignOut } from "../api/session.js";
import { Button } from "./button.js";

const NAV = [
  { to: "/runs", label: "Flow runs" },
  { to: "/deployments", label: "Deployments" },
  { to: "/work-pools", label: "Work pools" },
  { to: "/credentials", label: "Credentials" },
  { to: "/variables", label: "Variables" },
  { to: "/quota", label: "Quota" },
  { to: "/api-keys", label: "API keys" },
] as const;

/**
 * The shell of every signed-in page: a skip link, the navigation, the workspace and "Sign out", and
 * the page. On a narrow screen the navigation folds behind a "Menu" button.
 */
export function Layout() {
  const session = useSession();
  const signOut = useSignOut();
  const [menuOpen, setMenuOpen] = useState(false);
  const pathname = useRouterState({ select: (state) => state.location.pathname });
  const [lastPath, setLastPath] = useState(pathname);
  if (pathname !== lastPath) {
    // Following a link closes the menu.
    setLastPath(pathname);
    setMenuOpen(false);
  }
  const workspace = session.data?.workspace;
  return (
    <div className="min-h-screen bg-white text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 dark:border-slate-800">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
          <Link to="/runs" className="text-lg font-semibold">
            Ferry
          </Link>
          <Button
            variant="ghost"
            size="sm"
            className="md:hidden"
            aria-expanded={menuOpen}
            aria-controls="main-nav"
            onClick={() => setMenuOpen((open) => !open)}
          >
            <Menu aria-hidden size={16} />
            Menu
          </Button>
          <nav
            id="main-nav"
            aria-label="Main"
            className={`${menuOpen ? "flex" : "hidden"} order-last w-full flex-col gap-1 md:order-none md:flex md:w-auto md:flex-row md:flex-wrap md:gap-4`}
          >
            {NAV.map((item) => (
              <Link
                key={item.to}
                to={item.to}
                className="rounded px-1 py-1 hover:underline"
                activeProps={{ className: "font-semibold underline", "aria-current": "page" }}
              >
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm">
            {workspace && (
              <span>
                <span className="font-medium">{workspace.name}</span>{" "}
                <span className="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-800 uppercase dark:bg-slate-800 dark:text-slate-100">
                  {workspace.tier}
                </span>
              </span>
            )}
            <Button size="sm" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
              Sign out
            </Button>
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto max-w-6xl px-4 py-6 focus:outline-none">
        <Outlet />
      </main>
    </div>
  );
}
