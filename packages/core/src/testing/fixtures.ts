import { NEW_RUN_RETRY_FIELDS, RETRY_DEFAULTS } from "../run-lifecycle.js";
import { DEPLOYMENT_SCHEDULING_DEFAULTS } from "../schedules.js";
import { isFerryError, type FerryError } from "../errors.js";
import { newId } from "../ids.js";
import type { Deployment, FlowRun } from "../models.js";

/** Minimal valid domain objects for tests of code that takes a run or a deployment. */
export function fixtureFlowRun(type: string, jobVariables: Record<string, unknown> = {}, jobConfiguration: Record<string, unknown> | null = null): FlowRun {
  const now = new Date().toISOString();
  return {
    id: newId(),
    name: "conformance-run",
    deployment_id: newId(),
    deployment_name: "conformance",
    flow_name: "conformance-flow",
    work_pool: "conformance-pool",
    work_pool_type: type,
    state: { type: "PENDING", name: "Submitting", message: null, timestamp: now },
    parameters: {},
    job_variables: jobVariables,
    job_configuration: jobConfiguration,
    infrastructure_id: null,
    idempotency_key: null,
    tags: [],
    created_at: now,
    updated_at: now,
    expected_start_time: null,
    start_time: null,
    end_time: null,
    compute_seconds: 0,
    ...NEW_RUN_RETRY_FIELDS,
  };
}

export function fixtureDeployment(): Deployment {
  const now = new Date().toISOString();
  return {
    id: newId(),
    flow_name: "conformance-flow",
    name: "conformance",
    work_pool: "conformance-pool",
    source: { git_url: "https://example.invalid/repo.git", branch: "main" },
    entrypoint: "flow.py:main",
    job_variables: {},
    parameters: {},
    parameter_schema: null,
    pull_steps: null,
    tags: [],
    description: null,
    paused: false,
    ...DEPLOYMENT_SCHEDULING_DEFAULTS,
  ...RETRY_DEFAULTS,
    ...RETRY_DEFAULTS,
    created_at: now,
    updated_at: now,
  };
}

/** The FerryError a promise rejects with; throws when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    if (isFerryError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to be rejected with a FerryError");
}
