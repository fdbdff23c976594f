import type { Deployment, FlowRun, StateType, WorkPool } from "@ferry/core";
import { defaultStateName } from "@ferry/core";

let n = 0;
const id = () => `0190a0b0-0000-7000-8000-${String(++n).padStart(12, "0")}`;

export function pool(name: string, extra: Partial<WorkPool> = {}): WorkPool {
  return {
    id: id(),
    name,
    type: "ferry:managed",
    description: null,
    base_job_template: { job_configuration: {}, variables: { type: "object", properties: {} } },
    concurrency_limit: null,
    paused: false,
    credentials: null,
    created_at: "2026-11-01T00:00:00.000Z",
    updated_at: "2026-11-01T00:00:00.000Z",
    ...extra,
  };
}

export function deployment(flow: string, name: string, workPool: string, extra: Partial<Deployment> = {}): Deployment {
  return {
    id: id(),
    flow_name: flow,
    name,
    work_pool: workPool,
    source: { git_url: "https://example.com/acme/flows.git", branch: "main" },
    entrypoint: `flows/${flow}.py:${flow}`,
    job_variables: {},
    parameters: {},
    parameter_schema: null,
    pull_steps: null,
    tags: [],
    description: null,
    paused: false,
    created_at: "2026-11-01T00:00:00.000Z",
    updated_at: "2026-11-01T00:00:00.000Z",
    ...extra,
  };
}

export function run(d: Deployment, type: StateType, times: { created: string; start?: string; end?: string }, extra: Partial<FlowRun> = {}): FlowRun {
  return {
    id: id(),
    name: `${d.name}-${n.toString(16)}`,
    deployment_id: d.id,
    deployment_name: d.name,
    flow_name: d.flow_name,
    work_pool: d.work_pool,
    work_pool_type: "ferry:managed",
    state: { type, name: defaultStateName(type), message: null, timestamp: times.end ?? times.start ?? times.created },
    parameters: {},
    job_variables: {},
    job_configuration: null,
    infrastructure_id: null,
    idempotency_key: null,
    tags: [],
    created_at: times.created,
    updated_at: times.end ?? times.start ?? times.created,
    start_time: times.start ?? null,
    end_time: times.end ?? null,
    compute_seconds: 0,
    ...extra,
  };
}
