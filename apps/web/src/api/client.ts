import { FerryClient } from "@ferry/core/browser";

/**
 * The UI is served by the server it talks to: same origin, signed in by the session cookie (HttpOnly, so
 * never readable here). State-changing calls carry the session's CSRF token, which the server hands out
 * with the session (`POST /api/sessions`, `GET /api/session`) and which lives in memory only.
 */
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export const client = new FerryClient({
  apiUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  headers: (): Record<string, string> => (csrfToken ? { "x-csrf-token": csrfToken } : {}),
  // The client calls its fetch as a method of itself; a browser's fetch called on anything but window
  // throws "Illegal invocation", so it gets a plain function that calls the global one.
  fetch: (input, init) => globalThis.fetch(input, init),
});

export const api = client.api;
