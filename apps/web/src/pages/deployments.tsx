import { useEffect, useState } from "react";
import { Link } from "@tanstack/react-router";
import { deploymentRef, useDeploymentsPages } from "../api/deployments.js";
import { usePools } from "../api/pools.js";
import { PageHeader } from "../components/page-header.js";
import { Field, SelectInput, TextInput } from "../components/field.js";
import { ListFooter } from "../components/list-footer.js";
import { Empty, ErrorState, Loading } from "../components/states.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { Time } from "../components/time.js";

/** The search box's text once typing pauses, so a word typed is one request, not one per letter. */
function useSettled(value: string, ms = 300): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export default function DeploymentsPage() {
  const [search, setSearch] = useState("");
  const [pool, setPool] = useState("");
  const settledSearch = useSettled(search);
  const deployments = useDeploymentsPages({ search: settledSearch, pool });
  const pools = usePools();
  const filtered = Boolean(settledSearch.trim() || pool);
  return (
    <>
      <PageHeader title="Deployments" description={<>A flow, its source and the pool it runs on. Make one with <code>ferry deploy</code>.</>} />
      <div role="search" className="mb-4 grid gap-3 sm:grid-cols-[1fr_16rem]">
        <Field label="Search">
          {({ id }) => <TextInput id={id} type="search" placeholder="Name, flow, pool or tag" value={search} onChange={(e) => setSearch(e.target.value)} />}
        </Field>
        <Field label="Work pool">
          {({ id }) => (
            <SelectInput id={id} value={pool} onChange={(e) => setPool(e.target.value)}>
              <option value="">All pools</option>
              {pools.data?.map((p) => (
                <option key={p.id} value={p.name}>
                  {p.name}
                </option>
              ))}
            </SelectInput>
          )}
        </Field>
      </div>
      {deployments.query.isPending ? (
        <Loading />
      ) : deployments.query.isError ? (
        <ErrorState error={deployments.query.error} retry={() => void deployments.query.refetch()} />
      ) : !deployments.items?.length ? (
        filtered ? (
          <Empty title="No deployment matches">Clear the search or pick another pool.</Empty>
        ) : (
          <Empty title="No deployments yet">Run `ferry deploy` in a project with a ferry.yaml.</Empty>
        )
      ) : (
        <Table label="Deployments">
          <thead>
            <tr>
              <Th>Deployment</Th>
              <Th>Work pool</Th>
              <Th>Tags</Th>
              <Th>Updated</Th>
            </tr>
          </thead>
          <tbody>
            {deployments.items.map((d) => (
              <Tr key={d.id}>
                <Td>
                  <Link to="/deployments/$id" params={{ id: d.id }} className="font-medium text-blue-800 underline dark:text-blue-300">
                    {deploymentRef(d)}
                  </Link>
                  {d.paused && <span className="ml-2 text-xs">(paused)</span>}
                </Td>
                <Td>
                  <Link to="/work-pools/$name" params={{ name: d.work_pool }} className="underline">
                    {d.work_pool}
                  </Link>
                </Td>
                <Td>{d.tags.join(", ")}</Td>
                <Td>
                  <Time iso={d.updated_at} />
                </Td>
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
      {deployments.items && deployments.items.length > 0 && (
        <ListFooter
          shown={deployments.items.length}
          total={deployments.total}
          noun="deployments"
          hasMore={deployments.query.hasNextPage}
          loadingMore={deployments.query.isFetchingNextPage}
          loadMore={() => void deployments.query.fetchNextPage()}
        />
      )}
    </>
  );
}
