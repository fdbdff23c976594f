import { createHash } from "node:crypto";
import { canonicalJson } from "@ferry/core";

/** What makes one step's run request distinct from another's in the same workflow run. */
export interface RunRequestIdentity {
  runId: number;
  /** The workflow run's attempt; null = a re-run of the workflow gets the first attempt's run back. */
  attempt: number | null;
  /** `GITHUB_JOB`: the job's id in the workflow. */
  job: string;
  /** The job's matrix values ({} outside a matrix). */
  matrix: Record<string, unknown>;
  deployment: string;
  parameters: Record<string, unknown>;
  jobVariables: Record<string, unknown>;
}

/**
 * The run's idempotency key: a retried step gets its run back, while another job, another matrix
 * combination, or other parameters (or job variables) make their own run. Readable where it can be
 * (run, attempt, job), hashed where it must (values, which may be long or secret).
 */
export function runIdempotencyKey(id: RunRequestIdentity): string {
  const hash = createHash("sha256")
    .update(canonicalJson({ deployment: id.deployment, matrix: id.matrix, parameters: id.parameters, job_variables: id.jobVariables }))
    .digest("hex")
    .slice(0, 32);
  const job = id.job.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 100);
  return `gh-${id.runId}${id.attempt === null ? "" : `-a${id.attempt}`}-${job}-${hash}`;
}
