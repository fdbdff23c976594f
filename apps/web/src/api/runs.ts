import { useEffect, useState } from "react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type InfiniteData, type QueryClient } from "@tanstack/react-query";
import { FLOW_RUN_EVENTS_PATH, WORKSPACE_EVENTS_PATH, routePath, type FlowRun, type FlowRunEvent, type Page } from "@ferry/core/browser";
import { api } from "./client.js";
import { keys } from "./keys.js";
import { pageParams } from "./paged.js";
import { runsQuery, type FixedRunsFilter, type RunsSearch } from "./runs-search.js";
import { assembleLog, emptyRunEvents, mergeEvents, type RunEvents } from "./run-events.js";

/** How often lists refetch when the workspace's event stream is down. */
export const POLL_MS = 10_000;

/**
 * A page of runs, newest first, then more with "Load more" (the API's cursor). The key holds the search,
 * not the computed query: a preset like "last hour" is turned into an instant when a page is fetched.
 */
export function useRunsList(search: RunsSearch, fixed: FixedRunsFilter, poll: boolean) {
  return useInfiniteQuery({
    queryKey: keys.runs({ ...search, ...fixed }),
    queryFn: ({ pageParam }) => api.listFlowRuns({ query: { ...runsQuery(search, fixed), ...pageParams(pageParam) } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: poll ? POLL_MS : false,
  });
}

export function useRun(id: string) {
  return useQuery({ queryKey: keys.run(id), queryFn: () => api.getFlowRun({ params: { id } }) });
}

export function useRunHistory(id: string) {
  return useQuery({ queryKey: keys.runHistory(id), queryFn: async () => (await api.getFlowRunHistory({ params: { id } })).items });
}

export function useCancelRun(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.cancelFlowRun({ params: { id }, body: { reason: "Cancelled from the web UI" } }),
    onSuccess: (run) => {
      queryClient.setQueryData(keys.run(id), run);
      void queryClient.invalidateQueries({ queryKey: keys.runHistory(id) });
      void queryClient.invalidateQueries({ queryKey: keys.runsLists() });
    },
  });
}

/** Re-runs a finished run as a new run (same parameters and source commit); the new run's page opens next. */
export function useRetryRun(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.retryFlowRun({ params: { id } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.runsLists() }),
  });
}

/** The whole log as text, paged through the API (the stream only has what happened since the page opened). */
export function fetchWholeLog(id: string): Promise<string> {
  return assembleLog((cursor) => api.listFlowRunLogs({ params: { id }, query: { limit: 1000, ...(cursor ? { cursor } : {}) } }));
}

/** Puts a run from the event stream into every cached list that shows it; false when no list had it. */
export function updateRunInLists(queryClient: QueryClient, run: FlowRun): boolean {
  let found = false;
  queryClient.setQueriesData<InfiniteData<Page<FlowRun>>>({ queryKey: keys.runsLists() }, (data) => {
    if (!data) return data;
    let changed = false;
    const pages = data.pages.map((page) => {
      if (!page.items.some((r) => r.id === run.id)) return page;
      changed = true;
      return { ...page, items: page.items.map((r) => (r.id === run.id ? run : r)) };
    });
    if (changed) found = true;
    return changed ? { ...data, pages } : data;
  });
  if (queryClient.getQueryData(keys.run(run.id))) queryClient.setQueryData(keys.run(run.id), run);
  return found;
}

const hasEventSource = () => typeof EventSource !== "undefined";

/**
 * Follows the workspace's runs (`GET /api/events`): a changed run replaces its row in every cached list;
 * a run no list shows (a new one) refetches the lists, at most every 2 s. The browser reconnects on its
 * own; while it is not connected `live` is false and the lists poll instead.
 */
export function useWorkspaceRunEvents(): { live: boolean } {
  const queryClient = useQueryClient();
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!hasEventSource()) return;
    const source = new EventSource(WORKSPACE_EVENTS_PATH);
    let pending: ReturnType<typeof setTimeout> | undefined;
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.addEventListener("run", (event: MessageEvent<string>) => {
      const run = JSON.parse(event.data) as FlowRun;
      if (!updateRunInLists(queryClient, run) && pending === undefined) {
        pending = setTimeout(() => {
          pending = undefined;
          void queryClient.invalidateQueries({ queryKey: keys.runsLists() });
        }, 2_000);
      }
    });
    return () => {
      source.close();
      clearTimeout(pending);
    };
  }, [queryClient]);
  return { live };
}

export type StreamStatus = "connecting" | "live" | "reconnecting" | "ended" | "unsupported";

/**
 * Follows one run (`GET /api/flow-runs/{id}/events`): log lines and states in order. Events are taken in
 * in batches (every 50 ms) so a long log arriving at once renders a few times, not once per line. `end`
 * closes the stream (the browser would reconnect forever otherwise). A stream the browser gave up on
 * (readyState CLOSED) is reopened here after 3 s; it starts from the first event again, and mergeEvents
 * skips what was already seen. A state event refetches the run (times, result). Mount it keyed by id.
 */
export function useRunStream(id: string): { events: RunEvents; status: StreamStatus } {
  const queryClient = useQueryClient();
  const [events, setEvents] = useState(emptyRunEvents);
  const [status, setStatus] = useState<StreamStatus>(hasEventSource() ? "connecting" : "unsupported");
  useEffect(() => {
    if (!hasEventSource()) return;
    let source: EventSource | null = null;
    let buffer: FlowRunEvent[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let reopenTimer: ReturnType<typeof setTimeout> | undefined;
    let ended = false;
    const refresh = () => {
      void queryClient.invalidateQueries({ queryKey: keys.run(id), exact: true });
      void queryClient.invalidateQueries({ queryKey: keys.runHistory(id) });
    };
    const flush = () => {
      flushTimer = undefined;
      const batch = buffer;
      buffer = [];
      if (batch.length) setEvents((current) => mergeEvents(current, batch));
      if (batch.some((e) => e.kind === "state")) refresh();
    };
    const onEvent = (event: MessageEvent<string>) => {
      buffer.push(JSON.parse(event.data) as FlowRunEvent);
      flushTimer ??= setTimeout(flush, 50);
    };
    const open = () => {
      const s = new EventSource(routePath(FLOW_RUN_EVENTS_PATH, { id }));
      source = s;
      s.onopen = () => setStatus("live");
      s.addEventListener("log", onEvent);
      s.addEventListener("state", onEvent);
      s.addEventListener("end", () => {
        ended = true;
        s.close();
        clearTimeout(flushTimer);
        flush();
        setStatus("ended");
        refresh();
      });
      s.onerror = () => {
        if (ended) return;
        setStatus("reconnecting");
        if (s.readyState === EventSource.CLOSED) reopenTimer = setTimeout(open, 3_000);
      };
    };
    open();
    return () => {
      ended = true;
      source?.close();
      clearTimeout(flushTimer);
      clearTimeout(reopenTimer);
    };
  }, [id, queryClient]);
  return { events, status };
}
