import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { api, setCsrfToken } from "./client.js";
import { keys } from "./keys.js";

/**
 * The session: the server keeps it behind an HttpOnly cookie; the UI holds only what `getSession`
 * returns (workspace, CSRF token, expiry). The API key typed at sign-in goes into one request and no
 * further: not into a query key, not into storage.
 */
export const sessionQuery = queryOptions({
  queryKey: keys.session(),
  queryFn: async () => {
    const session = await api.getSession();
    setCsrfToken(session.csrf_token);
    return session;
  },
  staleTime: 60_000,
  retry: false,
});

export function useSession() {
  return useQuery(sessionQuery);
}

/**
 * Where to go after signing in: only a path on this site. Anything else (another origin, a
 * protocol-relative `//host`, a backslash trick browsers read as `//`) falls back to the runs list.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || next === "") return "/runs";
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/runs";
  if ([...next].some((ch) => ch === "\\" || ch.charCodeAt(0) < 0x20)) return "/runs";
  if (next === "/sign-in" || next.startsWith("/sign-in?") || next.startsWith("/sign-in/")) return "/runs";
  return next;
}

export function useSignIn() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (apiKey: string) => api.createSession({ body: { api_key: apiKey } }),
    onSuccess: (session) => {
      setCsrfToken(session.csrf_token);
      // A new session may be another workspace: nothing cached from before applies.
      queryClient.clear();
      queryClient.setQueryData(keys.session(), session);
    },
  });
}

export function useSignOut() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: () => api.deleteSession(),
    onSettled: async () => {
      setCsrfToken(null);
      queryClient.clear();
      await navigate({ to: "/sign-in" });
    },
  });
}
