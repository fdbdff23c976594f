import { FerryError } from "./errors.js";
import { canonicalJson } from "./json-schema.js";

/** What a run creation asks for, as far as an idempotency key's replay must match it. */
export interface IdempotentRequest {
  deployment_id: string;
  /** The run's parameters after the deployment's defaults were merged in (what would run). */
  parameters: Record<string, unknown>;
  /** The run's own job variables (not the deployment's). */
  job_variables: Record<string, unknown>;
}

/** One side of an idempotency conflict: names only, never values (a parameter may be a secret). */
export interface IdempotentRequestSummary {
  deployment_id: string;
  parameters: string[];
  job_variables: string[];
}

/** `details` of the 409 a reused idempotency key with a different request answers. */
export interface IdempotencyConflictDetails {
  idempotency_key: string;
  flow_run_id: string;
  stored: IdempotentRequestSummary;
  requested: IdempotentRequestSummary;
  /** The names whose values differ (set on one side only, or set to different values). */
  differing: { parameters: string[]; job_variables: string[] };
}

/**
 * Whether a request may get the run an idempotency key already made. A replay must ask for the same
 * thing: returning a run of other parameters would silently run the wrong thing (a matrix job, a
 * re-run with edited inputs). Returns the 409 to answer, or null when the stored run is the answer.
 */
export function idempotencyConflict(key: string, stored: IdempotentRequest & { id: string }, requested: IdempotentRequest): FerryError | null {
  const differing = {
    parameters: differingKeys(stored.parameters, requested.parameters),
    job_variables: differingKeys(stored.job_variables, requested.job_variables),
  };
  const otherDeployment = stored.deployment_id !== requested.deployment_id;
  if (!otherDeployment && differing.parameters.length === 0 && differing.job_variables.length === 0) return null;
  const details: IdempotencyConflictDetails = {
    idempotency_key: key,
    flow_run_id: stored.id,
    stored: summary(stored),
    requested: summary(requested),
    differing,
  };
  const what = otherDeployment
    ? "a run of another deployment"
    : `run ${stored.id} with other ${[
        differing.parameters.length ? `parameters (${differing.parameters.join(", ")})` : "",
        differing.job_variables.length ? `job variables (${differing.job_variables.join(", ")})` : "",
      ]
        .filter(Boolean)
        .join(" and ")}`;
  return new FerryError(
    "conflict",
    `idempotency key '${key}' was used in the last 24 hours for ${what}; ` +
      `stored ${describe(details.stored)}, requested ${describe(details.requested)}. ` +
      `Use a new idempotency key for a different run${otherDeployment ? "" : `, or send the same ${differing.parameters.length ? "parameters" : "job variables"} to get run ${stored.id} back`}`,
    { details },
  );
}

function summary(r: IdempotentRequest): IdempotentRequestSummary {
  return { deployment_id: r.deployment_id, parameters: Object.keys(r.parameters).sort(), job_variables: Object.keys(r.job_variables).sort() };
}

function describe(s: IdempotentRequestSummary): string {
  const names = (list: string[]) => (list.length ? list.join(", ") : "none");
  return `{parameters: ${names(s.parameters)}; job variables: ${names(s.job_variables)}}`;
}

/** Keys set on one side only or to values that differ as JSON (key order inside values ignored). */
export function differingKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !Object.hasOwn(a, k) || !Object.hasOwn(b, k) || canonicalJson(a[k]) !== canonicalJson(b[k])).sort();
}
