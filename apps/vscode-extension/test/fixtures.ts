import { defaultStateName, type Deployment, type FlowRun, type StateType, type WorkPool } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";

let n = 0;

export function pool(name: string, extra: Partial<WorkPool> = {}): WorkPool {
  return {
    id: `0190a0b0-0000-7000-8000-${String(++n).padStart(12, "0")}`,
    name,
    type: "ferry:managed",
    description: null,
    base_job_template: { job_configuration: {}, variables: { type: "object", properties: {} } },
    concurrency_limit: null,
    paused: false,
    credentials: null,
    active_runs: 0,
    created_at: "2026-11-01T00:00:00.000Z",
    updated_at: "2026-11-01T00:00:00.000Z",
    ...extra,
  };
}

export function deployment(flow: string, name: string, workPool: string, extra: Partial<Deployment> = {}): Deployment {
  return { ...fixtureDeployment(), flow_name: flow, name, work_pool: workPool, entrypoint: `flows/${flow}.py:${flow}`, ...extra };
}

/** A run of `d` in state `type`, created (and started, ended) at the given times. */
export function run(d: Deployment, type: StateType, times: { created: string; start?: string; end?: string }, extra: Partial<FlowRun> = {}): FlowRun {
  const last = times.end ?? times.start ?? times.created;
  return {
    ...fixtureFlowRun("ferry:managed"),
    name: `${d.name}-${(++n).toString(16)}`,
    deployment_id: d.id,
    deployment_name: d.name,
    flow_name: d.flow_name,
    work_pool: d.work_pool,
    state: { type, name: defaultStateName(type), message: null, timestamp: last },
    created_at: times.created,
    updated_at: last,
    start_time: times.start ?? null,
    end_time: times.end ?? null,
    ...extra,
  };
}
