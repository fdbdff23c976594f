import { useMemo, useState } from "react";
import { Link } from "@tanstack/react-router";
import { deploymentRef, matchesSearch, useDeployments } from "../api/deployments.js";
import { PageHeader } from "../components/page-header.js";
import { Field, SelectInput, TextInput } from "../components/field.js";
import { Empty, ErrorState, Loading } from "../components/states.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { Time } from "../components/time.js";

export default function DeploymentsPage() {
  const deployments = useDeployments();
  const [search, setSearch] = useState("");
  const [pool, setPool] = useState("");
  const pools = useMemo(() => [...new Set((deployments.data ?? []).map((d) => d.work_pool))].sort(), [deployments.data]);
  const shown = useMemo(
    () => (deployments.data ?? []).filter((d) => (!pool || d.work_pool === pool) && matchesSearch(d, search)),
    [deployments.data, pool, search],
  );
  return (
    <>
      <PageHeader title="Deployments" description={<>A flow, its source and the pool it runs on. Make one with <code>ferry deploy</code>.</>} />
      {deployments.isPending ? (
        <Loading />
      ) : deployments.isError ? (
        <ErrorState error={deployments.error} retry={() => void deployments.refetch()} />
      ) : deployments.data.length === 0 ? (
        <Empty title="No deployments yet">Run `ferry deploy` in a project with a ferry.yaml.</Empty>
      ) : (
        <>
          <div role="search" className="mb-4 grid gap-3 sm:grid-cols-[1fr_16rem]">
            <Field label="Search">
              {({ id }) => <TextInput id={id} type="search" placeholder="Name, flow, pool or tag" value={search} onChange={(e) => setSearch(e.target.value)} />}
            </Field>
            <Field label="Work pool">
              {({ id }) => (
                <SelectInput id={id} value={pool} onChange={(e) => setPool(e.target.value)}>
                  <option value="">All pools</option>
                  {pools.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </SelectInput>
              )}
            </Field>
          </div>
          {shown.length === 0 ? (
            <Empty title="No deployment matches">Clear the search or pick another pool.</Empty>
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
                {shown.map((d) => (
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
        </>
      )}
    </>
  );
}
