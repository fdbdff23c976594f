import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { WorkPoolCreate, WorkPoolUpdate } from "@ferry/core/browser";
import { api, client } from "./client.js";
import { keys } from "./keys.js";
import { usePagedList } from "./paged.js";

/** Every pool, all pages walked: for pickers. */
export function usePools() {
  return useQuery({ queryKey: keys.pools(), queryFn: () => client.listAll.listWorkPools() });
}

/** The pools page's list, a page at a time. */
export function usePoolsPages() {
  return usePagedList(keys.poolsPages(), (query) => api.listWorkPools({ query }));
}

export function usePool(name: string) {
  return useQuery({ queryKey: keys.pool(name), queryFn: () => api.getWorkPool({ params: { name } }) });
}

export function usePoolTypes() {
  return useQuery({ queryKey: keys.poolTypes(), queryFn: async () => (await api.listWorkPoolTypes()).items, staleTime: 5 * 60_000 });
}

export function useCreatePool() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: WorkPoolCreate) => api.createWorkPool({ body }),
    onSuccess: async () => {
      await Promise.all([queryClient.invalidateQueries({ queryKey: keys.pools() }), queryClient.invalidateQueries({ queryKey: keys.quota() })]);
    },
  });
}

export function useUpdatePool(name: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: WorkPoolUpdate) => api.updateWorkPool({ params: { name }, body }),
    onSuccess: async (pool) => {
      queryClient.setQueryData(keys.pool(name), pool);
      await queryClient.invalidateQueries({ queryKey: keys.pools() });
    },
  });
}

export function useDeletePool() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api.deleteWorkPool({ params: { name } }),
    onSuccess: async (_result, name) => {
      queryClient.removeQueries({ queryKey: keys.pool(name) });
      await Promise.all([queryClient.invalidateQueries({ queryKey: keys.pools() }), queryClient.invalidateQueries({ queryKey: keys.quota() })]);
    },
  });
}
