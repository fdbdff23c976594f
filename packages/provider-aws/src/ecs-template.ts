import { DEFAULT_ENGINE_IMAGE, renderJobConfiguration, resolveJobVariables, validateWithSchema, type BaseJobTemplate, type JsonSchema } from "@ferry/core";

const nullable = (type: string, description: string, extra: JsonSchema = {}): JsonSchema => ({
  type: [type, "null"],
  default: null,
  description,
  ...extra,
});

const stringList = (description: string, maxItems = 200): JsonSchema => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength: 500 },
  maxItems,
  default: [],
  description,
});

/**
 * The job variables of `ecs:push` pools, with the names Prefect users know. Credentials are not a
 * variable (the pool's credentials are handed to the provider) and neither is an endpoint (a server
 * setting: the plugin's `endpoint` option).
 */
const ECS_VARIABLES: Record<string, JsonSchema> = {
  image: { type: "string", minLength: 1, default: DEFAULT_ENGINE_IMAGE, description: "Image the run's container starts from" },
  cpu: { type: "integer", minimum: 128, default: 1024, description: "CPU units of the task (1024 = 1 vCPU); Fargate accepts 256, 512, 1024, 2048, 4096, 8192, 16384" },
  memory: { type: "integer", minimum: 128, default: 2048, description: "Memory of the task in MiB; Fargate accepts fixed combinations with cpu" },
  env: {
    type: "object",
    additionalProperties: { type: "string" },
    default: {},
    description: "Environment variables of the run's container (stored in the task definition: use no secrets here)",
  },
  command: {
    type: ["array", "null"],
    items: { type: "string" },
    default: null,
    description: "Command of the container; null keeps the image's",
  },
  region: nullable("string", "AWS region; null uses the credentials' region_name, else us-east-1"),
  cluster: nullable("string", "ECS cluster name or ARN; null uses the account's 'default' cluster"),
  launch_type: {
    type: "string",
    enum: ["FARGATE", "FARGATE_SPOT", "EC2"],
    default: "FARGATE",
    description: "Where tasks run; ignored when capacity_provider_strategy is given",
  },
  capacity_provider_strategy: {
    type: "array",
    items: {
      type: "object",
      additionalProperties: false,
      required: ["capacityProvider"],
      properties: {
        capacityProvider: { type: "string", minLength: 1 },
        weight: { type: "integer", minimum: 0, maximum: 1000 },
        base: { type: "integer", minimum: 0, maximum: 100000 },
      },
    },
    maxItems: 20,
    default: [],
    description: "Capacity providers to run on; when given it replaces launch_type",
  },
  vpc_id: nullable("string", "VPC whose subnets tasks use when 'subnets' is empty; null uses the default VPC"),
  subnets: stringList("Subnet ids for the task's network interface", 16),
  security_groups: stringList("Security group ids for the task's network interface; empty uses the VPC's default group", 5),
  assign_public_ip: {
    type: "string",
    enum: ["ENABLED", "DISABLED"],
    default: "ENABLED",
    description: "Whether Fargate tasks get a public IP (needed to pull images without a NAT gateway or VPC endpoints)",
  },
  task_role_arn: nullable("string", "IAM role the flow's code runs as"),
  execution_role_arn: nullable("string", "IAM role ECS uses to pull the image and write logs"),
  family: nullable("string", "Task definition family; null derives one from the deployment", { maxLength: 255 }),
  container_name: { type: "string", minLength: 1, maxLength: 255, default: "ferry", description: "Name of the flow's container in the task" },
  cpu_architecture: {
    type: "string",
    enum: ["X86_64", "ARM64"],
    default: "X86_64",
    description: "CPU architecture of the task; must match the image's",
  },
  configure_cloudwatch_logs: { type: "boolean", default: false, description: "Send the container's output to CloudWatch Logs" },
  cloudwatch_logs_options: {
    type: "object",
    additionalProperties: { type: "string" },
    default: {},
    description: "awslogs driver options, e.g. awslogs-group (default /ferry/ecs), awslogs-stream-prefix (default ferry)",
  },
  auto_deregister_task_definition: {
    type: "boolean",
    default: false,
    description: "Register a task definition for each run and deregister it once the task started",
  },
  pip_packages: stringList("Python packages the engine installs at start"),
  npm_packages: stringList("npm packages the engine installs at start"),
};

/** Every variable is passed through under its own name, so the provider reads one flat object. */
export const ECS_BASE_JOB_TEMPLATE: BaseJobTemplate = {
  variables: { type: "object", properties: ECS_VARIABLES },
  job_configuration: Object.fromEntries(Object.keys(ECS_VARIABLES).map((name) => [name, `{{ ${name} }}`])),
};

export type LaunchType = "FARGATE" | "FARGATE_SPOT" | "EC2";
export type CpuArchitecture = "X86_64" | "ARM64";

export interface CapacityProviderStrategyItem {
  capacityProvider: string;
  weight?: number;
  base?: number;
}

/** A rendered job configuration of an `ecs:push` pool, with every default filled in. */
export interface EcsJobConfiguration {
  image: string;
  cpu: number;
  memory: number;
  env: Record<string, string>;
  command: string[] | null;
  region: string | null;
  cluster: string | null;
  launch_type: LaunchType;
  capacity_provider_strategy: CapacityProviderStrategyItem[];
  vpc_id: string | null;
  subnets: string[];
  security_groups: string[];
  assign_public_ip: "ENABLED" | "DISABLED";
  task_role_arn: string | null;
  execution_role_arn: string | null;
  family: string | null;
  container_name: string;
  cpu_architecture: CpuArchitecture;
  configure_cloudwatch_logs: boolean;
  cloudwatch_logs_options: Record<string, string>;
  auto_deregister_task_definition: boolean;
  pip_packages: string[];
  npm_packages: string[];
}

/**
 * Reads a rendered job configuration. A pool's template may have been edited (keys removed, extra keys
 * added), so the configuration is checked again here and missing keys take the variables' defaults;
 * extra keys are ignored.
 */
export function parseEcsJobConfiguration(raw: Record<string, unknown>): EcsJobConfiguration {
  return validateWithSchema<EcsJobConfiguration>(
    { type: "object", properties: ECS_VARIABLES },
    raw,
    "ecs:push job configuration",
  );
}

/** The configuration the default template renders for these job variables, as core renders it for a run. */
export function defaultEcsJobConfiguration(variables: Record<string, unknown> = {}): EcsJobConfiguration {
  const resolved = resolveJobVariables(ECS_BASE_JOB_TEMPLATE, variables);
  return parseEcsJobConfiguration(renderJobConfiguration(ECS_BASE_JOB_TEMPLATE, resolved));
}
