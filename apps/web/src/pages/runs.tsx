import { useNavigate, useSearch } from "@tanstack/react-router";
import { PageHeader } from "../components/page-header.js";
import { RunsFilters } from "../components/runs-filters.js";
import { RunsTable } from "../components/runs-table.js";

/** Flow runs of the workspace, filtered by what the URL says, live. */
export default function RunsPage() {
  const search = useSearch({ from: "/app/runs" });
  const navigate = useNavigate();
  return (
    <div>
      <PageHeader title="Flow runs" description="Every run of the workspace, newest first; the list updates as runs change." />
      <RunsFilters search={search} onChange={(next) => void navigate({ to: "/runs", search: next, replace: true })} />
      <RunsTable search={search} />
    </div>
  );
}
