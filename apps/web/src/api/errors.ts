import { isFerryError } from "@ferry/core/browser";

/** The API's own message when there is one (it says what to fix), else the error's. */
export function errorMessage(error: unknown): string {
  if (isFerryError(error)) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What to do next, by error code, when the message alone may not say. */
export function errorAdvice(error: unknown): string | null {
  if (!isFerryError(error)) return "Check your connection to the Ferry server, then try again.";
  switch (error.code) {
    case "unauthenticated":
      return "Your session has ended: sign in again.";
    case "forbidden":
      return "Reload the page to renew your session, then try again.";
    case "not_found":
      return "It may have been deleted; go back to the list.";
    case "quota_exceeded":
      return "See the Quota page for your tier's limits.";
    case "network":
    case "unavailable":
    case "request_timeout":
      return "Check that the Ferry server is running, then try again.";
    case "internal":
      return "The server failed; its log says why. Try again, and report it if it persists.";
    default:
      return null;
  }
}

export function isUnauthenticated(error: unknown): boolean {
  return isFerryError(error) && error.code === "unauthenticated";
}

export function isNotFound(error: unknown): boolean {
  return isFerryError(error) && error.code === "not_found";
}
