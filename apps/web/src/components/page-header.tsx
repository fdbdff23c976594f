import { useEffect, type ReactNode } from "react";

/** The tab's title follows the page: "Work pools · Ferry". */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Ferry`;
  }, [title]);
}

/** A page's heading (its h1) with the page's main actions beside it; wraps on narrow screens. */
export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  usePageTitle(title);
  return (
    <div className="mb-6 flex flex-wrap items-start justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-2xl font-semibold break-words">{title}</h1>
        {description && <div className="mt-1 text-sm text-slate-700 dark:text-slate-300">{description}</div>}
      </div>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}
