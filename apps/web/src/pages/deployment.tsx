import { Link, useParams } from "@tanstack/react-router";
import type { Deployment } from "@ferry/core/browser";
import { deploymentRef, describeSchedule, useDeployment, useDeploymentSchedules, useSetScheduleActive } from "../api/deployments.js";
import { Button } from "../components/button.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { Time } from "../components/time.js";
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
          ["Concurrency", deployment.concurrency_limit === null ? "No limit" : `${deployment.concurrency_limit} at a time (${deployment.collision_strategy === "cancel_new" ? "new runs past it are cancelled" : "new runs wait"})`],
        ]}
      />
      <SchedulesSection deployment={deployment} />
      <Section title="Runs">
        <RunsTable filter={{ deployment_id: deployment.id }} label={`Runs of ${deploymentRef(deployment)}`} />
      </Section>
    </>
  );
}

function SchedulesSection({ deployment }: { deployment: Deployment }) {
  const schedules = useDeploymentSchedules(deployment.id);
  const setActive = useSetScheduleActive(deployment.id);
  if (deployment.schedules.length === 0) return null;
  return (
    <Section title="Schedules">
      {schedules.isPending ? (
        <Loading />
      ) : schedules.isError ? (
        <ErrorState error={schedules.error} retry={() => void schedules.refetch()} />
      ) : (
        <Table label={`Schedules of ${deploymentRef(deployment)}`}>
          <thead>
            <tr>
              <Th>Schedule</Th>
              <Th>Status</Th>
              <Th>Next runs</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {schedules.data.items.map((s) => (
              <Tr key={s.id}>
                <Td>
                  <span className="font-mono">{describeSchedule(s)}</span>
                </Td>
                <Td>{!s.active ? "Paused" : deployment.paused ? "Deployment paused" : "Active"}</Td>
                <Td>
                  {s.next_runs.length === 0 ? (
                    "None"
                  ) : (
                    <ul>
                      {s.next_runs.slice(0, 3).map((t) => (
                        <li key={t}>
                          <Time iso={t} />
                        </li>
                      ))}
                    </ul>
                  )}
                </Td>
                <Td>
                  <Button
                    size="sm"
                    onClick={() => setActive.mutate({ scheduleId: s.id, active: !s.active })}
                    disabled={setActive.isPending}
                    aria-label={`${s.active ? "Pause" : "Resume"} schedule ${describeSchedule(s)}`}
                  >
                    {s.active ? "Pause" : "Resume"}
                  </Button>
                </Td>
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
      {setActive.isError && <ErrorState error={setActive.error} />}
    </Section>
  );
}
