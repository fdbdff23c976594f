import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "./client.js";
import { keys } from "./keys.js";
import { usePagedList } from "./paged.js";

/** The workspace's keys, a page at a time. */
export function useApiKeys() {
  return usePagedList(keys.apiKeysPages(), (query) => api.listApiKeys({ query }));
}

/** The created key is returned to the caller once and never put in the query cache. */
export function useCreateApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api.createApiKey({ body: { name } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.apiKeys() }),
  });
}

export function useDeleteApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.deleteApiKey({ params: { id } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.apiKeys() }),
  });
}
