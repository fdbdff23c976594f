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
});

export const api = client.api;
