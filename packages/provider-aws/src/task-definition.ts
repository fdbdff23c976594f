import { createHash } from "node:crypto";
import type { RegisterTaskDefinitionCommandInput, RunTaskCommandInput, Tag } from "@aws-sdk/client-ecs";
import { FerryError } from "@ferry/core";
import type { EcsJobConfiguration } from "./ecs-template.js";

/** The tag holding a task definition's content hash: an equal definition is reused instead of registered. */
export const KEY_TAG = "ferry.key";
export const FLOW_RUN_TAG = "ferry.flow_run_id";
export const DEPLOYMENT_TAG = "ferry.deployment_id";
/** The pool whose runs registered a definition: the tag provisioning puts on what it makes for the pool (provisioning/plan.ts POOL_TAG). */
export const TASK_DEFINITION_POOL_TAG = "ferry:pool";
export const STARTED_BY = "ferry";
export const DEFAULT_CLUSTER = "default";
export const DEFAULT_LOG_GROUP = "/ferry/ecs";
export const DEFAULT_LOG_STREAM_PREFIX = "ferry";

export interface TaskDefinitionContext {
  deploymentId: string;
  flowName: string;
  deploymentName: string;
  /** Region the logs go to (awslogs-region). */
  region: string;
  /** The run's work pool: its tag on the definition lets the pool's removal deregister and delete it. */
  pool?: string;
}

/** How a task is placed: Fargate tasks always use awsvpc networking; EC2 tasks do when given subnets. */
export interface Placement {
  fargate: boolean;
  launchType?: "FARGATE" | "EC2";
  capacityProviderStrategy?: { capacityProvider: string; weight?: number; base?: number }[];
}

const FARGATE_PROVIDERS = new Set(["FARGATE", "FARGATE_SPOT"]);

/**
 * A capacity provider strategy, when given, replaces the launch type (Prefect sent both and ECS refused,
 * #13030). FARGATE_SPOT is not a RunTask launch type: it is the FARGATE_SPOT capacity provider.
 */
export function placementOf(config: EcsJobConfiguration): Placement {
  const strategy = config.capacity_provider_strategy;
  if (strategy.length > 0) {
    return { fargate: strategy.every((s) => FARGATE_PROVIDERS.has(s.capacityProvider)), capacityProviderStrategy: strategy.map((s) => ({ ...s })) };
  }
  if (config.launch_type === "FARGATE_SPOT") {
    return { fargate: true, capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] };
  }
  return { fargate: config.launch_type === "FARGATE", launchType: config.launch_type };
}

export function usesAwsvpc(config: EcsJobConfiguration): boolean {
  return placementOf(config).fargate || config.subnets.length > 0;
}

/** `ferry-<flow>-<deployment>-<8 hex of the deployment id>`: readable, and distinct for equal names in two workspaces. */
export function familyFor(config: EcsJobConfiguration, ctx: Pick<TaskDefinitionContext, "deploymentId" | "flowName" | "deploymentName">): string {
  if (config.family) return config.family;
  const slug = `${ctx.flowName}-${ctx.deploymentName}`.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/-{2,}/g, "-").replace(/^-+|-+$/g, "").slice(0, 200);
  const suffix = createHash("sha256").update(ctx.deploymentId).digest("hex").slice(0, 8);
  return `ferry-${slug || "deployment"}-${suffix}`;
}

export interface LogSettings {
  group: string;
  streamPrefix: string;
  region: string;
  options: Record<string, string>;
}

/** The awslogs options of a configuration, or null when CloudWatch logs are not configured. */
export function logSettings(config: EcsJobConfiguration, region: string): LogSettings | null {
  if (!config.configure_cloudwatch_logs) return null;
  // No `awslogs-create-group`: with it the ECS agent itself creates the group, which needs
  // logs:CreateLogGroup on the execution role (Prefect #20237). The provider creates the group with the
  // pool's credentials before the first run instead, so the execution role needs nothing extra. A user
  // may still set it in cloudwatch_logs_options.
  const options: Record<string, string> = {
    "awslogs-group": DEFAULT_LOG_GROUP,
    "awslogs-region": region,
    "awslogs-stream-prefix": DEFAULT_LOG_STREAM_PREFIX,
    ...config.cloudwatch_logs_options,
  };
  return { group: options["awslogs-group"]!, streamPrefix: options["awslogs-stream-prefix"]!, region: options["awslogs-region"]!, options };
}

/**
 * The RegisterTaskDefinition request of a job. Everything in it is shared by every run that reuses the
 * definition, and readable by anyone allowed DescribeTaskDefinition: so nothing per run (flow run id,
 * run token, API URL) goes here; those are in RunTask's overrides.
 */
export function buildTaskDefinition(config: EcsJobConfiguration, ctx: TaskDefinitionContext): RegisterTaskDefinitionCommandInput {
  const placement = placementOf(config);
  const logs = logSettings(config, ctx.region);
  if (placement.fargate && !config.execution_role_arn && (logs || isEcrImage(config.image))) {
    throw new FerryError(
      "validation_failed",
      `Fargate needs an execution role to ${logs ? "write CloudWatch logs" : "pull an ECR image"}: set the execution_role_arn job variable (or run 'ferry work-pool provision-infra POOL')`,
    );
  }
  const environment = Object.entries({ ...config.env, ...packageEnv(config) })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  const container: NonNullable<RegisterTaskDefinitionCommandInput["containerDefinitions"]>[number] = {
    name: config.container_name,
    image: config.image,
    essential: true,
    environment,
    ...(config.command ? { command: [...config.command] } : {}),
    ...(logs ? { logConfiguration: { logDriver: "awslogs", options: logs.options } } : {}),
  };
  const definition: RegisterTaskDefinitionCommandInput = {
    family: familyFor(config, ctx),
    containerDefinitions: [container],
    cpu: String(config.cpu),
    memory: String(config.memory),
    requiresCompatibilities: [placement.fargate ? "FARGATE" : "EC2"],
    runtimePlatform: { cpuArchitecture: config.cpu_architecture, operatingSystemFamily: "LINUX" },
    ...(usesAwsvpc(config) ? { networkMode: "awsvpc" } : {}),
    ...(config.task_role_arn ? { taskRoleArn: config.task_role_arn } : {}),
    ...(config.execution_role_arn ? { executionRoleArn: config.execution_role_arn } : {}),
  };
  // The pool is part of the key: a revision is reused only by runs of the pool its tag names, so the
  // pool's removal never deregisters a definition another pool's runs use.
  const key = ctx.pool ? createHash("sha256").update(`${taskDefinitionKey(definition)}|${ctx.pool}`).digest("hex").slice(0, 32) : taskDefinitionKey(definition);
  definition.tags = [
    { key: KEY_TAG, value: key },
    { key: DEPLOYMENT_TAG, value: ctx.deploymentId },
    ...(ctx.pool ? [{ key: TASK_DEFINITION_POOL_TAG, value: ctx.pool }] : []),
  ];
  return definition;
}

/**
 * The engine reads the packages from the run's job_configuration anyway (it can read its own run);
 * the variables make them visible to images that do not run Ferry's engine too.
 */
function packageEnv(config: EcsJobConfiguration): Record<string, string> {
  const out: Record<string, string> = {};
  if (config.pip_packages.length) out.FERRY_PIP_PACKAGES = JSON.stringify(config.pip_packages);
  if (config.npm_packages.length) out.FERRY_NPM_PACKAGES = JSON.stringify(config.npm_packages);
  return out;
}

/** A stable hash of a definition's content (tags excluded): equal content, equal key, whatever the key order. */
export function taskDefinitionKey(definition: RegisterTaskDefinitionCommandInput): string {
  const { tags: _tags, ...content } = definition;
  return createHash("sha256").update(canonicalJson(content)).digest("hex").slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The value of a tag in a Describe answer's tag list. */
export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.key === key)?.value;
}

/** ECS accepts client tokens of at most 64 characters; a longer idempotency key is hashed to 64 hex. */
export function clientTokenFor(idempotencyKey: string): string {
  return idempotencyKey.length <= 64 ? idempotencyKey : createHash("sha256").update(idempotencyKey).digest("hex");
}

export interface TaskNetwork {
  subnets: string[];
  securityGroups: string[];
}

export interface RunTaskContext {
  idempotencyKey: string;
  flowRunId: string;
  deploymentId: string;
  /** FERRY_API_URL, FERRY_FLOW_RUN_ID, FERRY_BOOTSTRAP_TOKEN: per run, and the token is a secret (single use, short-lived). */
  runtimeEnv: Record<string, string>;
}

/** The RunTask request of one run: the per-run environment rides in the overrides. */
export function buildRunTaskRequest(
  config: EcsJobConfiguration,
  taskDefinitionArn: string,
  network: TaskNetwork | null,
  request: RunTaskContext,
): RunTaskCommandInput {
  const placement = placementOf(config);
  const environment = Object.entries(request.runtimeEnv)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  return {
    cluster: config.cluster ?? DEFAULT_CLUSTER,
    taskDefinition: taskDefinitionArn,
    count: 1,
    clientToken: clientTokenFor(request.idempotencyKey),
    startedBy: STARTED_BY,
    ...(placement.capacityProviderStrategy ? { capacityProviderStrategy: placement.capacityProviderStrategy } : { launchType: placement.launchType }),
    ...(network
      ? {
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: [...network.subnets],
              ...(network.securityGroups.length ? { securityGroups: [...network.securityGroups] } : {}),
              // ECS refuses assignPublicIp ENABLED for EC2 tasks; it only applies to Fargate.
              assignPublicIp: placement.fargate ? config.assign_public_ip : "DISABLED",
            },
          },
        }
      : {}),
    overrides: { containerOverrides: [{ name: config.container_name, environment }] },
    tags: [
      { key: FLOW_RUN_TAG, value: request.flowRunId },
      { key: DEPLOYMENT_TAG, value: request.deploymentId },
    ],
  };
}

/** The EC2 lookups network resolution needs: a narrow interface so the rules are tested without AWS. */
export interface NetworkLookup {
  /** The id of the region's default VPC, or null when the account has none. */
  defaultVpcId(): Promise<string | null>;
  subnetIdsOfVpc(vpcId: string): Promise<string[]>;
}

/**
 * Where an awsvpc task's network interface goes: subnets given → used as they are; else every subnet of
 * the given VPC; else every subnet of the default VPC. Security groups, when none are given, are left
 * to ECS (the VPC's default group).
 */
export async function resolveNetwork(config: EcsJobConfiguration, lookup: NetworkLookup, region: string): Promise<TaskNetwork> {
  const securityGroups = [...config.security_groups];
  if (config.subnets.length > 0) return { subnets: [...config.subnets], securityGroups };
  const vpcId = config.vpc_id ?? (await lookup.defaultVpcId());
  if (!vpcId) {
    throw new FerryError(
      "validation_failed",
      `there is no default VPC in ${region} and the job sets neither subnets nor vpc_id: set the subnets (or vpc_id) job variable, or run 'ferry work-pool provision-infra POOL' to make a VPC`,
    );
  }
  const subnets = await lookup.subnetIdsOfVpc(vpcId);
  if (subnets.length === 0) {
    throw new FerryError(
      "validation_failed",
      `the VPC '${vpcId}' in ${region} has no subnets: add subnets to it, or set the subnets job variable`,
    );
  }
  return { subnets: [...subnets].sort(), securityGroups };
}

export function isEcrImage(image: string): boolean {
  return /^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//.test(image);
}
