import type { ReactNode } from "react";
import { Link } from "@tanstack/react-router";
import { errorMessage, errorAdvice } from "../api/errors.js";

/** Loading, empty and error states: every query a page shows goes through one of these. */
export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p role="status" className="py-6 text-sm text-slate-700 dark:text-slate-300">
      {label}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-md border border-dashed border-slate-400 px-4 py-8 text-center dark:border-slate-600">
      <p className="font-medium">{title}</p>
      {children && <div className="mt-2 text-sm text-slate-700 dark:text-slate-300">{children}</div>}
    </div>
  );
}

/** The API's message and what to do about it. */
export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const advice = errorAdvice(error);
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
      <p className="font-medium">{errorMessage(error)}</p>
      {advice && <p className="mt-1">{advice}</p>}
      {retry && (
        <button type="button" onClick={retry} className="mt-2 underline">
          Try again
        </button>
      )}
    </div>
  );
}

/** An error inside a form or dialog: the message only, next to what caused it. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-900 dark:bg-red-950 dark:text-red-100">
      {errorMessage(error)}
    </p>
  );
}

/** A page whose subject is gone: its own heading, and the way back. */
export function NotFound({ what, back }: { what: string; back: { to: string; label: string } }) {
  return (
    <div className="rounded-md border border-dashed border-slate-400 px-4 py-8 text-center dark:border-slate-600">
      <h1 className="text-lg font-semibold">{`${what} was not found`}</h1>
      <p className="mt-2 text-sm text-slate-700 dark:text-slate-300">
        It may have been deleted.{" "}
        <Link to={back.to} className="underline">
          {back.label}
        </Link>
      </p>
    </div>
  );
}
