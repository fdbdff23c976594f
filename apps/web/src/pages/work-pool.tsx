import { useState } from "react";
import { Link, useNavigate, useParams } from "@tanstack/react-router";
import type { WorkPool } from "@ferry/core/browser";
import { useDeletePool, usePool, usePoolTypes, useUpdatePool } from "../api/pools.js";
import { isNotFound } from "../api/errors.js";
import { provisionCommand } from "../api/job-template.js";
import { PageHeader } from "../components/page-header.js";
import { Button } from "../components/button.js";
import { ConfirmDialog } from "../components/dialog.js";
import { CopyButton } from "../components/copy-button.js";
import { Details, Section } from "../components/details.js";
import { ErrorState, FormError, Loading, NotFound } from "../components/states.js";
import { PoolStatus } from "../components/state-badge.js";
import { PoolVariablesForm } from "../components/pool-variables-form.js";
import { RunsTable } from "../components/runs-table.js";

export default function WorkPoolPage() {
  const { name } = useParams({ from: "/app/work-pools/$name" });
  const pool = usePool(name);
  if (pool.isPending) return <Loading />;
  if (pool.isError) {
    return isNotFound(pool.error) ? (
      <NotFound what={`Work pool '${name}'`} back={{ to: "/work-pools", label: "Back to work pools" }} />
    ) : (
      <ErrorState error={pool.error} retry={() => void pool.refetch()} />
    );
  }
  return <PoolView pool={pool.data} />;
}

function PoolView({ pool }: { pool: WorkPool }) {
  const types = usePoolTypes();
  const info = types.data?.find((t) => t.type === pool.type);
  const managed = info?.managed ?? pool.type === "ferry:managed";
  const update = useUpdatePool(pool.name);
  return (
    <>
      <PageHeader
        title={pool.name}
        description={pool.description ?? undefined}
        actions={
          <>
            <Button onClick={() => update.mutate({ paused: !pool.paused })} disabled={update.isPending}>
              {pool.paused ? "Resume" : "Pause"}
            </Button>
            <DeletePool name={pool.name} />
          </>
        }
      />
      <FormError error={update.error} />
      <Details
        items={[
          ["Type", <span className="font-mono">{pool.type}</span>],
          ["Status", <PoolStatus paused={pool.paused} />],
          ["In use / limit", `${pool.active_runs} / ${pool.concurrency_limit ?? "unlimited"}`],
          ["Credentials", pool.credentials ? <Link to="/credentials" className="underline">{pool.credentials}</Link> : "None"],
        ]}
      />
      {managed ? (
        <p className="mt-4 text-sm">
          Runs of this pool count against your tier: see <Link to="/quota" className="underline">Quota</Link>.
        </p>
      ) : (
        <Section title="Infrastructure">
          <p className="mb-2 text-sm">
            Provision this pool's cloud infrastructure from a shell where your cloud credentials are; the browser never holds them.
          </p>
          <div className="flex flex-wrap items-center gap-2">
            <code className="rounded bg-slate-100 px-2 py-1 text-sm break-all dark:bg-slate-800">{provisionCommand(pool.name)}</code>
            <CopyButton text={provisionCommand(pool.name)} />
          </div>
        </Section>
      )}
      <Section title="Job variables">
        <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">Defaults for every run of this pool; a deployment or a run may override them.</p>
        <PoolVariablesForm pool={pool} />
      </Section>
      <Section title="Runs">
        <RunsTable filter={{ work_pool: pool.name }} label={`Runs of ${pool.name}`} />
      </Section>
    </>
  );
}

function DeletePool({ name }: { name: string }) {
  const [open, setOpen] = useState(false);
  const remove = useDeletePool();
  const navigate = useNavigate();
  return (
    <>
      <Button variant="danger" onClick={() => setOpen(true)}>
        Delete pool
      </Button>
      <ConfirmDialog
        open={open}
        onOpenChange={(next) => {
          setOpen(next);
          if (!next) remove.reset();
        }}
        title={`Delete work pool '${name}'?`}
        description="Its runs are kept. The server refuses while deployments use the pool."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate(name, { onSuccess: () => void navigate({ to: "/work-pools" }) })}
      />
    </>
  );
}
