import { createHash } from "node:crypto";

/** Cloud Run job ids: lower-case letters, digits and hyphens, a letter first, no hyphen last, at most 63. */
export const JOB_ID = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_JOB_ID = 63;

/**
 * The Cloud Run job of a run, named from its id: the same run always names the same job, so a
 * resubmission finds the job (and its execution) an earlier attempt made. `ferry-` + a UUID is 42
 * characters; an id that does not fit the rule is kept readable where it can and made unique by a hash.
 */
export function jobIdFor(flowRunId: string): string {
  const cleaned = `ferry-${flowRunId.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`.replace(/-+/g, "-").replace(/-$/, "");
  if (cleaned.length <= MAX_JOB_ID && cleaned === `ferry-${flowRunId}`) return cleaned;
  const hash = createHash("sha256").update(flowRunId).digest("hex").slice(0, 16);
  const head = cleaned.slice(0, MAX_JOB_ID - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}

export function locationName(project: string, region: string): string {
  return `projects/${project}/locations/${region}`;
}

export function jobName(project: string, region: string, jobId: string): string {
  return `${locationName(project, region)}/jobs/${jobId}`;
}

export interface ExecutionName {
  project: string;
  region: string;
  job: string;
  execution: string;
}

const EXECUTION_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/]+)\/executions\/([^/]+)$/;

/** The infrastructure id of a run is its execution's full resource name. */
export function parseExecutionName(name: string): ExecutionName | null {
  const m = EXECUTION_NAME.exec(name);
  return m ? { project: m[1]!, region: m[2]!, job: m[3]!, execution: m[4]! } : null;
}

/** `projects/P/locations/R/jobs/J` of an execution. */
export function jobNameOf(execution: ExecutionName): string {
  return jobName(execution.project, execution.region, execution.job);
}

const JOB_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/]+)$/;

/**
 * A run whose job Cloud Run could not make ready (its image is missing) has no execution: its
 * infrastructure id is the job's name, and its status is the job's terminal condition.
 */
export function parseJobName(name: string): { project: string; region: string; job: string } | null {
  const m = JOB_NAME.exec(name);
  return m ? { project: m[1]!, region: m[2]!, job: m[3]! } : null;
}
