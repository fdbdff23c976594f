import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "./client.js";
import { keys } from "./keys.js";
import { usePagedList } from "./paged.js";

/** Variables (with values) and secrets (names only: the API never returns a secret's value). */
export function useVariablesPages() {
  return usePagedList(keys.variables(), (query) => api.listVariables({ query }));
}

export function useSecretsPages() {
  return usePagedList(keys.secrets(), (query) => api.listSecrets({ query }));
}

export function useSetNamedValue(kind: "variable" | "secret") {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ name, value }: { name: string; value: string }) => {
      if (kind === "variable") await api.putVariable({ params: { name }, body: { value } });
      else await api.putSecret({ params: { name }, body: { value } });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: kind === "variable" ? keys.variables() : keys.secrets() }),
  });
}

export function useDeleteNamedValue(kind: "variable" | "secret") {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => (kind === "variable" ? api.deleteVariable({ params: { name } }) : api.deleteSecret({ params: { name } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: kind === "variable" ? keys.variables() : keys.secrets() }),
  });
}
