import { Link, useParams } from "@tanstack/react-router";
import type { Deployment } from "@ferry/core/browser";
import { deploymentRef, useDeployment } from "../api/deployments.js";
import { isNotFound } from "../api/errors.js";
import { PageHeader } from "../components/page-header.js";
import { Details, Section } from "../components/details.js";
import { ErrorState, Loading, NotFound } from "../components/states.js";
import { RunDeploymentDialog } from "../components/run-deployment-dialog.js";
import { RunsTable } from "../components/runs-table.js";

export default function DeploymentPage() {
  const { id } = useParams({ from: "/app/deployments/$id" });
  const deployment = useDeployment(id);
  if (deployment.isPending) return <Loading />;
  if (deployment.isError) {
    return isNotFound(deployment.error) ? (
      <NotFound what="This deployment" back={{ to: "/deployments", label: "Back to deployments" }} />
    ) : (
      <ErrorState error={deployment.error} retry={() => void deployment.refetch()} />
    );
  }
  return <DeploymentView deployment={deployment.data} />;
}

function DeploymentView({ deployment }: { deployment: Deployment }) {
  const { source } = deployment;
  return (
    <>
      <PageHeader
        title={deploymentRef(deployment)}
        description={deployment.description ?? undefined}
        actions={<RunDeploymentDialog deployment={deployment} />}
      />
      <Details
        items={[
          ["Source", <span className="font-mono break-all">{source.git_url}</span>],
          ["Branch", source.branch ?? "Default branch"],
          ...(source.commit ? ([["Commit", <span className="font-mono">{source.commit}</span>]] as Array<[string, React.ReactNode]>) : []),
          ["Entrypoint", <span className="font-mono break-all">{deployment.entrypoint}</span>],
          [
            "Work pool",
            <Link to="/work-pools/$name" params={{ name: deployment.work_pool }} className="underline">
              {deployment.work_pool}
            </Link>,
          ],
          ["Tags", deployment.tags.length > 0 ? deployment.tags.join(", ") : "None"],
          ["Status", deployment.paused ? "Paused" : "Active"],
        ]}
      />
      <Section title="Runs">
        <RunsTable filter={{ deployment_id: deployment.id }} label={`Runs of ${deploymentRef(deployment)}`} />
      </Section>
    </>
  );
}
