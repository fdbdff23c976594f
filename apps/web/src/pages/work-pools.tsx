import { Link } from "@tanstack/react-router";
import { usePoolsPages } from "../api/pools.js";
import { ListFooter } from "../components/list-footer.js";
import { PageHeader } from "../components/page-header.js";
import { NewWorkPoolDialog } from "../components/new-work-pool-dialog.js";
import { Empty, ErrorState, Loading } from "../components/states.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { PoolStatus } from "../components/state-badge.js";

/** "2 / 5", or "2 / unlimited" when the pool has no limit. */
export function inUse(active: number, limit: number | null): string {
  return `${active} / ${limit === null ? "unlimited" : limit}`;
}

export default function WorkPoolsPage() {
  const pools = usePoolsPages();
  return (
    <>
      <PageHeader
        title="Work pools"
        description={
          <>
            Where a deployment's runs execute. Managed pools count against your <Link to="/quota" className="underline">quota</Link>.
          </>
        }
        actions={<NewWorkPoolDialog />}
      />
      {pools.query.isPending ? (
        <Loading />
      ) : pools.query.isError ? (
        <ErrorState error={pools.query.error} retry={() => void pools.query.refetch()} />
      ) : !pools.items?.length ? (
        <Empty title="No work pools yet">Create one with "New work pool", or run `ferry work-pool create NAME --type ferry:managed`.</Empty>
      ) : (
        <Table label="Work pools">
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Type</Th>
              <Th>Status</Th>
              <Th>In use / limit</Th>
            </tr>
          </thead>
          <tbody>
            {pools.items.map((pool) => (
              <Tr key={pool.id}>
                <Td>
                  <Link to="/work-pools/$name" params={{ name: pool.name }} className="font-medium text-blue-800 underline dark:text-blue-300">
                    {pool.name}
                  </Link>
                </Td>
                <Td className="font-mono text-xs">{pool.type}</Td>
                <Td>
                  <PoolStatus paused={pool.paused} />
                </Td>
                <Td>{inUse(pool.active_runs, pool.concurrency_limit)}</Td>
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
      {pools.items && pools.items.length > 0 && (
        <ListFooter
          shown={pools.items.length}
          total={pools.total}
          noun="work pools"
          hasMore={pools.query.hasNextPage}
          loadingMore={pools.query.isFetchingNextPage}
          loadMore={() => void pools.query.fetchNextPage()}
        />
      )}
    </>
  );
}
