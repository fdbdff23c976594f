import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { CredentialsCreate } from "@ferry/core/browser";
import { api } from "./client.js";
import { keys } from "./keys.js";

/** Credentials as the API returns them: secret fields masked. The UI shows no values at all. */
export function useCredentials() {
  return useQuery({ queryKey: keys.credentials(), queryFn: async () => (await api.listCredentials()).items });
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
