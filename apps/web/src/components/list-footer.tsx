import type { ListTotal } from "@ferry/core/browser";
import { Button } from "./button.js";

/** "12 work pools", or "about 120,000 …" when the server estimated; nothing when it gave no total. */
export function totalLabel(total: ListTotal | undefined, noun: string): string | null {
  if (!total) return null;
  const n = total.total.toLocaleString("en-US");
  return total.total_is_estimate ? `about ${n} ${noun}` : `${n} ${noun}`;
}

/** Below a paged list: how many are shown of how many, and "Load more" while pages remain. */
export function ListFooter(props: {
  shown: number;
  total: ListTotal | undefined;
  noun: string;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore(): void;
}) {
  const label = totalLabel(props.total, props.noun);
  return (
    <div className="mt-3 flex items-center gap-3">
      {props.hasMore && (
        <Button onClick={props.loadMore} disabled={props.loadingMore}>
          {props.loadingMore ? "Loading…" : "Load more"}
        </Button>
      )}
      {label && (
        <p className="text-sm text-slate-600 dark:text-slate-400" aria-live="polite">
          Showing {props.shown.toLocaleString("en-US")} of {label}
        </p>
      )}
    </div>
  );
}
