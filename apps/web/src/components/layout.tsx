import { Link, Outlet } from "@tanstack/react-router";

const NAV = [
  { to: "/runs", label: "Flow runs" },
  { to: "/deployments", label: "Deployments" },
  { to: "/work-pools", label: "Work pools" },
  { to: "/credentials", label: "Credentials" },
  { to: "/quota", label: "Quota" },
  { to: "/api-keys", label: "API keys" },
] as const;

/** The shell: navigation and the page. Signing in and out, and the session check, live here later. */
export function Layout() {
  return (
    <div className="min-h-screen bg-white text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <header className="border-b border-slate-200 dark:border-slate-800">
        <nav aria-label="Main" className="mx-auto flex max-w-6xl flex-wrap gap-4 px-4 py-3">
          <span className="font-semibold">Ferry</span>
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} className="hover:underline" activeProps={{ className: "font-semibold underline" }}>
              {item.label}
            </Link>
          ))}
        </nav>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
