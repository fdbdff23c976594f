import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { CredentialsCreate } from "@ferry/core/browser";
import { api, client } from "./client.js";
import { keys } from "./keys.js";
import { usePagedList } from "./paged.js";

/** Every credentials document, all pages walked (for pickers), as the API returns them: secret fields masked. The UI shows no values at all. */
export function useCredentials() {
  return useQuery({ queryKey: keys.credentials(), queryFn: () => client.listAll.listCredentials() });
}

/** The credentials page's list, a page at a time. */
export function useCredentialsPages() {
  return usePagedList(keys.credentialsPages(), (query) => api.listCredentials({ query }));
}

export function useCredentialTypes() {
  return useQuery({ queryKey: keys.credentialTypes(), queryFn: async () => (await api.listCredentialTypes()).items, staleTime: 5 * 60_000 });
}

export function useCreateCredentials() {
  const queryClient = useQueryClient();
  return useMutation({
    // The response (masked) is not kept: the list is fetched again.
    mutationFn: async (body: CredentialsCreate) => {
      await api.createCredentials({ body });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.credentials() }),
  });
}

export function useDeleteCredentials() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api.deleteCredentials({ params: { name } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.credentials() }),
  });
}
