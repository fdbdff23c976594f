import { QueryClient } from "@tanstack/react-query";
import { isFerryError } from "@ferry/core/browser";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // A 4xx will answer the same way again; only network trouble and 5xx are worth retrying.
      retry: (count, error) => count < 2 && (!isFerryError(error) || error.retryable),
    },
  },
});
