import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { isFerryError } from "@ferry/core/browser";
import { isUnauthenticated } from "./errors.js";

/**
 * A 401 from any query or mutation means the session is gone (expired, signed out elsewhere): one
 * place sends the user to sign in. The shell registers what to do (it knows the router).
 */
let onUnauthenticated: (() => void) | null = null;

export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

function handleError(error: unknown): void {
  if (isUnauthenticated(error)) onUnauthenticated?.();
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: handleError }),
  mutationCache: new MutationCache({ onError: handleError }),
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // A 4xx will answer the same way again; only network trouble and 5xx are worth retrying.
      retry: (count, error) => count < 2 && (!isFerryError(error) || error.retryable),
    },
  },
});
