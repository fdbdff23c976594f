import { Link } from "@tanstack/react-router";
import { useRunsList, useWorkspaceRunEvents } from "../api/runs.js";
import type { FixedRunsFilter, RunsSearch } from "../api/runs-search.js";
import { totalOf } from "../api/paged.js";
import { ListFooter } from "./list-footer.js";
import { StateBadge } from "./state-badge.js";
import { Empty, ErrorState, Loading } from "./states.js";
import { Table, Td, Th, Tr } from "./table.js";
import { Time } from "./time.js";
import { formatDuration } from "./run-format.js";

/** Whether the list follows the workspace's events or polls (the stream is down or not there). */
export function LiveIndicator({ live }: { live: boolean }) {
  return (
    <span role="status" className="inline-flex items-center gap-1.5 text-xs text-slate-700 dark:text-slate-300">
      <span aria-hidden className={`h-2 w-2 rounded-full ${live ? "bg-green-600" : "bg-slate-500"}`} />
      {live ? "Live" : "Refreshing every 10 s"}
    </span>
  );
}

/**
 * Flow runs, newest first, updated live, with "Load more". `filter` is fixed by the page it sits on
 * (a pool's or a deployment's page); `search` is the runs page's own filters (from the URL).
 */
export function RunsTable({ filter = {}, search = {}, label = "Flow runs" }: { filter?: FixedRunsFilter; search?: RunsSearch; label?: string }) {
  const { live } = useWorkspaceRunEvents();
  const list = useRunsList(search, filter, !live);
  if (list.isPending) return <Loading label="Loading flow runs…" />;
  if (list.isError) return <ErrorState error={list.error} retry={() => void list.refetch()} />;
  const runs = list.data.pages.flatMap((p) => p.items);
  const filtered = Object.keys(search).length > 0;
  return (
    <div className="space-y-3">
      <div className="flex justify-end">
        <LiveIndicator live={live} />
      </div>
      {runs.length === 0 ? (
        <Empty title={filtered ? "No flow runs match these filters" : "No flow runs yet"}>
          {filtered ? (
            <p>Clear or widen the filters to see more runs.</p>
          ) : (
            <p>
              Start one from a deployment's page with <strong>Run</strong>, or from a terminal with{" "}
              <code className="rounded bg-slate-100 px-1 dark:bg-slate-800">ferry deployment run &lt;flow&gt;/&lt;deployment&gt;</code>.
            </p>
          )}
        </Empty>
      ) : (
        <Table label={label}>
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Flow / deployment</Th>
              <Th>Pool</Th>
              <Th>State</Th>
              <Th>Created</Th>
              <Th>Duration</Th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <Tr key={run.id}>
                <Td>
                  <Link to="/runs/$id" params={{ id: run.id }} className="font-medium text-blue-800 underline dark:text-blue-300">
                    {run.name}
                  </Link>
                </Td>
                <Td>
                  <Link to="/deployments/$id" params={{ id: run.deployment_id }} className="underline">
                    {run.flow_name}/{run.deployment_name}
                  </Link>
                </Td>
                <Td>
                  <Link to="/work-pools/$name" params={{ name: run.work_pool }} className="underline">
                    {run.work_pool}
                  </Link>
                </Td>
                <Td>
                  <StateBadge state={run.state} />
                </Td>
                <Td className="whitespace-nowrap">
                  <Time iso={run.created_at} />
                </Td>
                <Td className="whitespace-nowrap">{formatDuration(run.start_time, run.end_time)}</Td>
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
      {runs.length > 0 && (
        <ListFooter
          shown={runs.length}
          total={totalOf(list.data.pages)}
          noun="flow runs"
          hasMore={list.hasNextPage}
          loadingMore={list.isFetchingNextPage}
          loadMore={() => void list.fetchNextPage()}
        />
      )}
    </div>
  );
}
