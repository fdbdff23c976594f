import type { ReactNode, TdHTMLAttributes, ThHTMLAttributes } from "react";
import clsx from "clsx";

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns (relative: so a visually hidden header label scrolls with it instead of widening the page). */
export function Table({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="relative overflow-x-auto rounded-md border border-slate-200 dark:border-slate-700">
      <table aria-label={label} className="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-700">
        {children}
      </table>
    </div>
  );
}

export function Th({ className, ...rest }: ThHTMLAttributes<HTMLTableCellElement>) {
  return (
    <th
      scope="col"
      className={clsx("bg-slate-50 px-3 py-2 text-left font-semibold whitespace-nowrap dark:bg-slate-900", className)}
      {...rest}
    />
  );
}

export function Td({ className, ...rest }: TdHTMLAttributes<HTMLTableCellElement>) {
  return <td className={clsx("px-3 py-2 align-top", className)} {...rest} />;
}

export function Tr({ children }: { children: ReactNode }) {
  return <tr className="border-t border-slate-200 dark:border-slate-700">{children}</tr>;
}
