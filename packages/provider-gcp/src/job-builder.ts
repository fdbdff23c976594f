import type { protos } from "@google-cloud/run";
import type { CloudRunJobConfiguration } from "./cloud-run-template.js";

type IJob = protos.google.cloud.run.v2.IJob;
type IEnvVar = protos.google.cloud.run.v2.IEnvVar;
type IRunJobRequest = protos.google.cloud.run.v2.IRunJobRequest;

/** The name of the flow's container in the job's task template. */
export const CONTAINER_NAME = "ferry";
export const FLOW_RUN_LABEL = "ferry-flow-run";
export const DEPLOYMENT_LABEL = "ferry-deployment";
export const POOL_LABEL = "ferry-pool";
export const MANAGED_BY_LABEL = "managed-by";

export interface JobContext {
  flowRunId: string;
  deploymentId: string;
  pool?: string | undefined;
}

/** A label value as Cloud Run accepts one: lower case, digits, `_` and `-`, at most 63 characters. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .slice(0, 63);
}

/** `pip_packages` / `npm_packages` reach the engine as FERRY_PIP_PACKAGES / FERRY_NPM_PACKAGES (JSON). */
function packageEnv(config: CloudRunJobConfiguration): Record<string, string> {
  const out: Record<string, string> = {};
  if (config.pip_packages.length) out.FERRY_PIP_PACKAGES = JSON.stringify(config.pip_packages);
  if (config.npm_packages.length) out.FERRY_NPM_PACKAGES = JSON.stringify(config.npm_packages);
  return out;
}

const byName = <T>(entries: [string, T][]) => entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A Secret Manager reference as Cloud Run wants it: a secret of the job's project by name, another's by its full name. */
function secretEnv(config: CloudRunJobConfiguration): IEnvVar[] {
  return byName(Object.entries(config.env_from_secrets)).map(([name, ref]) => ({
    name,
    valueSource: { secretKeyRef: { secret: ref.secret, version: ref.version || "latest" } },
  }));
}

/**
 * The Cloud Run job of one run (CreateJob's `job`). It holds what is not secret and the same for every
 * attempt: the image, resources, the job variables' environment, retries (0 unless the pool says
 * otherwise: Cloud Run's default of 3 would re-run a failed flow behind Ferry's back) and the timeout.
 * The run's own environment (API URL, run id, bootstrap token) is not here but in RunJob's overrides
 * (buildRunJobRequest): a job is readable by anyone with run.jobs.get, and its labels and name are listed.
 */
export function buildCloudRunJob(config: CloudRunJobConfiguration, ctx: JobContext): IJob {
  const env: IEnvVar[] = [...byName(Object.entries({ ...config.env, ...packageEnv(config) })).map(([name, value]) => ({ name, value })), ...secretEnv(config)];
  const labels: Record<string, string> = {
    ...config.labels,
    [MANAGED_BY_LABEL]: "ferry",
    [FLOW_RUN_LABEL]: labelValue(ctx.flowRunId),
    [DEPLOYMENT_LABEL]: labelValue(ctx.deploymentId),
    ...(ctx.pool ? { [POOL_LABEL]: labelValue(ctx.pool) } : {}),
  };
  return {
    labels,
    template: {
      labels: { [FLOW_RUN_LABEL]: labels[FLOW_RUN_LABEL]! },
      taskCount: 1,
      parallelism: 1,
      template: {
        containers: [
          {
            name: CONTAINER_NAME,
            image: config.image,
            ...(config.command ? { command: [...config.command] } : {}),
            ...(config.args ? { args: [...config.args] } : {}),
            env,
            resources: { limits: { cpu: config.cpu, memory: config.memory } },
          },
        ],
        maxRetries: config.max_retries,
        timeout: { seconds: config.timeout },
        ...(config.service_account_name ? { serviceAccount: config.service_account_name } : {}),
        ...(config.vpc_connector_name ? { vpcAccess: { connector: config.vpc_connector_name } } : {}),
      },
    },
  };
}

/**
 * RunJob's request for the run: the per-run environment (FERRY_API_URL, FERRY_FLOW_RUN_ID,
 * FERRY_BOOTSTRAP_TOKEN) rides in the execution's container override, one task, the job's timeout.
 * The override is readable with run.executions.get, so it carries no run token: the bootstrap token is
 * single-use and short-lived, and the engine has traded it for the run token by the time anyone reads it.
 */
export function buildRunJobRequest(name: string, config: CloudRunJobConfiguration, runtimeEnv: Record<string, string>): IRunJobRequest {
  return {
    name,
    overrides: {
      containerOverrides: [{ name: CONTAINER_NAME, env: byName(Object.entries(runtimeEnv)).map(([key, value]) => ({ name: key, value })) }],
      taskCount: 1,
      timeout: { seconds: config.timeout },
    },
  };
}
