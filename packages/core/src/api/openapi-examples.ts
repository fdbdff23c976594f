import { NEW_RUN_RETRY_FIELDS, RETRY_DEFAULTS } from "../run-lifecycle.js";
import { DEPLOYMENT_SCHEDULING_DEFAULTS } from "../schedules.js";
import type { ErrorCode } from "../errors.js";
import type { RouteInput, RouteName, RouteOutput } from "./routes.js";

/**
 * Examples in the OpenAPI document. Typed by the route table, so an example that no longer matches its
 * route does not compile, and openapi.test.ts validates each against the route's schema.
 */
const DEPLOYMENT_ID = "0b9d7c1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e";
const RUN_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const POOL_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const AT = "2026-11-01T09:30:00.000Z";

const template: RouteOutput<"getWorkPool">["base_job_template"] = {
  variables: { type: "object", properties: { memory_mib: { type: "integer", default: 1024 } } },
  job_configuration: { memory_mib: "{{ memory_mib }}" },
};

const pool: RouteOutput<"getWorkPool"> = {
  id: POOL_ID,
  name: "managed",
  type: "ferry:managed",
  description: "Nightly ETL",
  base_job_template: template,
  concurrency_limit: 5,
  paused: false,
  credentials: null,
  active_runs: 1,
  created_at: AT,
  updated_at: AT,
};

const deployment: RouteOutput<"getDeployment"> = {
  id: DEPLOYMENT_ID,
  flow_name: "etl",
  name: "nightly",
  work_pool: "managed",
  source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
  entrypoint: "flows/etl.py:etl",
  job_variables: {},
  parameters: { day: "2026-11-01" },
  parameter_schema: null,
  pull_steps: null,
  tags: ["etl"],
  description: null,
  paused: false,
  ...DEPLOYMENT_SCHEDULING_DEFAULTS,
  ...RETRY_DEFAULTS,
  schedules: [{ id: "0193a1b2-3c4d-7e8f-9a0b-1c2d3e4f5a6c", active: true, cron: "0 2 * * *", timezone: "Europe/Berlin" }],
  created_at: AT,
  updated_at: AT,
};

const run: RouteOutput<"getFlowRun"> = {
  id: RUN_ID,
  name: "brave-otter",
  deployment_id: DEPLOYMENT_ID,
  deployment_name: "nightly",
  flow_name: "etl",
  work_pool: "managed",
  work_pool_type: "ferry:managed",
  state: { type: "RUNNING", name: "Running", message: null, timestamp: AT },
  parameters: { day: "2026-11-01" },
  job_variables: {},
  job_configuration: null,
  infrastructure_id: null,
  idempotency_key: null,
  tags: ["etl"],
  created_at: AT,
  updated_at: AT,
  expected_start_time: null,
  start_time: AT,
  end_time: null,
  compute_seconds: 12.5,
  ...NEW_RUN_RETRY_FIELDS,
  retries: 2,
  retry_delay_seconds: 30,
};

export const REQUEST_EXAMPLES: { [K in RouteName]?: RouteInput<K>["body"] } = {
  createSession: { api_key: "fy_…" },
  createApiKey: { name: "ci" },
  createWorkPool: { name: "managed", type: "ferry:managed", concurrency_limit: 5 },
  updateWorkPool: { paused: true },
  createCredentials: { name: "git", type: "git", data: { token: "…" } },
  applyDeployment: {
    flow_name: "etl",
    name: "nightly",
    work_pool: "managed",
    source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
    entrypoint: "flows/etl.py:etl",
    parameters: { day: "2026-11-01" },
    tags: ["etl"],
  },
  createFlowRun: { parameters: { day: "2026-11-02" }, idempotency_key: "nightly-2026-11-02" },
  setFlowRunState: { type: "COMPLETED", result: { rows: 1200 } },
  cancelFlowRun: { reason: "started by mistake" },
  writeFlowRunLogs: { logs: [{ level: "info", message: "loaded 1200 rows", timestamp: AT }] },
  createOidcTrustPolicy: {
    name: "etl-main",
    issuer: "https://token.actions.githubusercontent.com",
    audience: "ferry",
    conditions: { repository: "acme/flows", ref: "refs/heads/main" },
    role: "deployer",
  },
  exchangeOidcToken: { token: "eyJhbGciOiJSUzI1NiIs…", workspace: "0191d2a0-5b1e-7c3a-9d42-6f0e8b7a1c20" },
};

export const RESPONSE_EXAMPLES: { [K in RouteName]?: RouteOutput<K> } = {
  getWorkPool: pool,
  createWorkPool: pool,
  listWorkPools: { items: [pool], next_cursor: null },
  getDeployment: deployment,
  applyDeployment: { deployment, action: "created" },
  createFlowRun: { flow_run: run, created: true },
  getFlowRun: run,
  listFlowRuns: { items: [run], next_cursor: null },
  cancelFlowRun: { ...run, state: { type: "CANCELLING", name: "Cancelling", message: "started by mistake", timestamp: AT } },
  deleteWorkPool: { deleted: true },
  writeFlowRunLogs: { written: 1 },
  exchangeOidcToken: { access_token: "fo_…", token_type: "Bearer", expires_at: AT, role: "deployer", workspace_id: "0191d2a0-5b1e-7c3a-9d42-6f0e8b7a1c20" },
};

/** A message per error code, for the error responses' examples. */
export const ERROR_EXAMPLES: Partial<Record<ErrorCode, string>> = {
  validation_failed: "the body is invalid: /name must NOT have more than 200 characters",
  unauthenticated: "an API key is required: send 'Authorization: Bearer <key>'",
  not_found: `flow run '${RUN_ID}' was not found`,
  forbidden: "a run token may only read its own run and report its state and logs; use an API key for anything else",
  conflict: "work pool 'managed' has deployments; delete them first",
  invalid_transition: "flow run cannot go from COMPLETED to RUNNING",
  quota_exceeded: "the workspace's free tier allows 1 managed pool; delete one or change tier",
  payload_too_large: "the request body is larger than 1 MiB, the limit of this route",
  internal: "internal error (request req-1); the server log has the details",
  unavailable: "the server is shutting down; retry in a moment",
  provider_error: "the provider failed to submit the run; retry",
};
