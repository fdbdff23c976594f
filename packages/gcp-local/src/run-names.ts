import { invalidArgument } from "./grpc-error.js";

/** Cloud Run's rule for job ids (and execution tokens' results): lower case, digits, hyphens, a letter first, at most 63. */
export const RESOURCE_ID = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export interface LocationName {
  project: string;
  location: string;
}

/** `projects/P/locations/L` → its parts, or INVALID_ARGUMENT naming the expected form. */
export function parseLocation(parent: string | undefined): LocationName {
  const match = /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(parent ?? "");
  if (match === null) throw invalidArgument(`Invalid parent '${parent ?? ""}': expected projects/PROJECT/locations/REGION.`);
  return { project: match[1]!, location: match[2]! };
}

export interface JobName extends LocationName {
  job: string;
  /** `projects/P/locations/L` */
  parent: string;
}

export function parseJobName(name: string | undefined): JobName {
  const match = /^(projects\/([^/]+)\/locations\/([^/]+))\/jobs\/([^/]+)$/.exec(name ?? "");
  if (match === null) throw invalidArgument(`Invalid job name '${name ?? ""}': expected projects/PROJECT/locations/REGION/jobs/JOB.`);
  return { parent: match[1]!, project: match[2]!, location: match[3]!, job: match[4]! };
}

export interface ExecutionName extends JobName {
  execution: string;
  jobName: string;
}

export function parseExecutionName(name: string | undefined): ExecutionName {
  const match = /^((projects\/([^/]+)\/locations\/([^/]+))\/jobs\/([^/]+))\/executions\/([^/]+)$/.exec(name ?? "");
  if (match === null) throw invalidArgument(`Invalid execution name '${name ?? ""}': expected projects/PROJECT/locations/REGION/jobs/JOB/executions/EXECUTION.`);
  return { jobName: match[1]!, parent: match[2]!, project: match[3]!, location: match[4]!, job: match[5]!, execution: match[6]! };
}

export function parseTaskName(name: string | undefined): { executionName: string; task: string } {
  const match = /^(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+\/executions\/[^/]+)\/tasks\/([^/]+)$/.exec(name ?? "");
  if (match === null) throw invalidArgument(`Invalid task name '${name ?? ""}': expected projects/PROJECT/locations/REGION/jobs/JOB/executions/EXECUTION/tasks/TASK.`);
  return { executionName: match[1]!, task: match[2]! };
}

/** Cloud Run names a job's executions `JOB-xxxxx` (five random lower-case letters or digits). */
export function executionId(job: string, random: () => number = Math.random): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let suffix = "";
  for (let i = 0; i < 5; i += 1) suffix += alphabet[Math.floor(random() * alphabet.length)];
  return `${job}-${suffix}`;
}
