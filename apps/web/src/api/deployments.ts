import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Deployment, FlowRunCreate } from "@ferry/core/browser";
import { api, client } from "./client.js";
import { keys } from "./keys.js";
import { usePagedList } from "./paged.js";

/** Every deployment, all pages walked: for pickers. */
export function useDeployments() {
  return useQuery({ queryKey: keys.deployments(), queryFn: () => client.listAll.listDeployments() });
}

/**
 * The deployments page's list, a page at a time, searched and filtered by the server: every word of
 * `search` must appear in the name, flow, pool or a tag.
 */
export function useDeploymentsPages(filter: { search?: string; pool?: string }) {
  const search = filter.search?.trim() || undefined;
  const pool = filter.pool || undefined;
  return usePagedList(keys.deploymentsPages({ search, pool }), (query) =>
    api.listDeployments({ query: { ...query, ...(search ? { search } : {}), ...(pool ? { work_pool: pool } : {}) } }),
  );
}

export function useDeployment(id: string) {
  return useQuery({ queryKey: keys.deployment(id), queryFn: () => api.getDeployment({ params: { id } }) });
}

/** A deployment's schedules, each with its next times (from the server, in its time zone's rules). */
export function useDeploymentSchedules(id: string) {
  return useQuery({ queryKey: keys.deploymentSchedules(id), queryFn: () => api.listDeploymentSchedules({ params: { id } }) });
}

/** Pauses or resumes one schedule; the deployment, its schedules and its runs (made ahead or deleted) are read again. */
export function useSetScheduleActive(deploymentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: { scheduleId: string; active: boolean }) =>
      api.updateDeploymentSchedule({ params: { id: deploymentId, schedule: input.scheduleId }, body: { active: input.active } }),
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: keys.deployment(deploymentId) }),
        queryClient.invalidateQueries({ queryKey: keys.runsAll() }),
      ]),
  });
}

/** What a schedule says, in one line: "cron 0 9 * * 1-5 (Europe/Berlin)". */
export function describeSchedule(s: { cron?: string; interval?: number; rrule?: string; timezone?: string }): string {
  const zone = s.timezone && s.timezone !== "UTC" ? ` (${s.timezone})` : "";
  if (s.cron !== undefined) return `cron ${s.cron}${zone}`;
  if (s.interval !== undefined) return `every ${s.interval} s`;
  return `rrule ${s.rrule ?? ""}${zone}`;
}

export function useCreateFlowRun(deploymentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: FlowRunCreate) => api.createFlowRun({ params: { id: deploymentId }, body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.runsAll() }),
  });
}

/** `flow_name/name`: how the CLI, the list and the page name a deployment. */
export function deploymentRef(deployment: Pick<Deployment, "flow_name" | "name">): string {
  return `${deployment.flow_name}/${deployment.name}`;
}

export interface RunRequestInput {
  parameters: Record<string, unknown>;
  /** Job variables the user changed from what the pool and the deployment would use anyway. */
  jobVariableChanges: Record<string, unknown>;
  idempotencyKey: string;
}

/**
 * The body of `createFlowRun` from the run dialog: parameters as given, job variables only where the
 * user changed them (so the pool's later template changes still apply to the rest), and the
 * idempotency key only when one was typed.
 */
export function buildRunRequest(input: RunRequestInput): FlowRunCreate {
  const body: FlowRunCreate = { parameters: input.parameters };
  if (Object.keys(input.jobVariableChanges).length > 0) body.job_variables = input.jobVariableChanges;
  const key = input.idempotencyKey.trim();
  if (key) body.idempotency_key = key;
  return body;
}

/** Parses the parameters textarea (used when the flow has no parameter schema): a JSON object or an error. */
export function parseParametersJson(text: string): { value: Record<string, unknown> } | { error: string } {
  if (text.trim() === "") return { value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { error: `Parameters are not valid JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { error: 'Parameters must be a JSON object, e.g. {"name": "value"}' };
  }
  return { value: parsed as Record<string, unknown> };
}
