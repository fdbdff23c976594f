import type { Credentials, Deployment, FlowRun, WorkPool } from "@ferry/core";
import { DEPLOYMENT_SCHEDULING_DEFAULTS, MANAGED_BASE_JOB_TEMPLATE, NEW_RUN_RETRY_FIELDS, RETRY_DEFAULTS } from "@ferry/core";

const T = "2026-01-01T00:00:00.000Z";

export function workPool(overrides: Partial<WorkPool> = {}): WorkPool {
  return {
    id: "00000000-0000-7000-8000-000000000001",
    name: "managed",
    type: "ferry:managed",
    description: null,
    base_job_template: MANAGED_BASE_JOB_TEMPLATE,
    concurrency_limit: null,
    paused: false,
    credentials: null,
    active_runs: 0,
    created_at: T,
    updated_at: T,
    ...overrides,
  };
}

export function deployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: "00000000-0000-7000-8000-000000000002",
    flow_name: "etl",
    name: "nightly",
    work_pool: "managed",
    source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
    entrypoint: "flows/etl.py:etl",
    job_variables: {},
    parameters: {},
    parameter_schema: null,
    pull_steps: null,
    tags: [],
    description: null,
    paused: false,
    ...DEPLOYMENT_SCHEDULING_DEFAULTS,
    ...RETRY_DEFAULTS,
    created_at: T,
    updated_at: T,
    ...overrides,
  };
}

export function flowRun(overrides: Partial<FlowRun> = {}): FlowRun {
  return {
    id: "00000000-0000-7000-8000-000000000003",
    name: "nightly-abc123",
    deployment_id: "00000000-0000-7000-8000-000000000002",
    deployment_name: "nightly",
    flow_name: "etl",
    work_pool: "managed",
    work_pool_type: "ferry:managed",
    state: { type: "SCHEDULED", name: "Scheduled", message: null, timestamp: T },
    parameters: {},
    job_variables: {},
    job_configuration: null,
    infrastructure_id: null,
    idempotency_key: null,
    tags: [],
    created_at: T,
    updated_at: T,
    expected_start_time: null,
    start_time: null,
    end_time: null,
    compute_seconds: 0,
    ...NEW_RUN_RETRY_FIELDS,
    ...overrides,
  };
}

/** Credential types as `GET /api/credential-types` gives them: git, and a `keypair` a provider plugin would bring. */
export function credentialTypes(): { items: { type: string; description: string; schema: Record<string, unknown>; secret_fields: string[] }[] } {
  const field = (description: string, secret = false) => ({ type: "string", minLength: 1, description, ...(secret ? { "x-ferry-secret": true } : {}) });
  return {
    items: [
      {
        type: "git",
        description: "An access token for cloning a private git repository.",
        schema: { type: "object", additionalProperties: false, required: ["token"], properties: { token: field("Personal access token or deploy token", true), username: field("User name") } },
        secret_fields: ["token"],
      },
      {
        type: "keypair",
        description: "A key pair of an example cloud.",
        schema: {
          type: "object",
          additionalProperties: false,
          required: ["key_id", "private_key"],
          properties: { key_id: field("Key id"), private_key: field("Private key", true), passphrase: field("Passphrase of the key", true), region: field("Default region") },
        },
        secret_fields: ["private_key", "passphrase"],
      },
    ],
  };
}

export function credentials(overrides: Partial<Credentials> = {}): Credentials {
  return {
    id: "00000000-0000-7000-8000-000000000004",
    name: "acme-prod",
    type: "keypair",
    data: { key_id: "KEYEXAMPLE", private_key: "********" },
    secret_fields: ["private_key", "passphrase"],
    created_at: T,
    updated_at: T,
    ...overrides,
  };
}
