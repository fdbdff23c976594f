import type { ProvisionOptionsSchema } from "@ferry/core";

/** The names of what is made; every one can be overridden with an option of the same key. */
export interface ProvisioningNames {
  executionRole: string;
  user: string;
  policy: string;
  cluster: string;
  vpc: string;
  repository: string;
}

export const DEFAULT_NAMES: ProvisioningNames = {
  executionRole: "FerryEcsTaskExecutionRole",
  user: "ferry-ecs-user",
  policy: "ferry-ecs-policy",
  cluster: "ferry-ecs-cluster",
  vpc: "ferry-ecs-vpc",
  repository: "ferry-flows",
};

const NAME_OPTIONS: Record<string, keyof ProvisioningNames> = {
  execution_role_name: "executionRole",
  user_name: "user",
  policy_name: "policy",
  cluster_name: "cluster",
  vpc_name: "vpc",
  repository_name: "repository",
};

const IAM_NAME = "^[A-Za-z0-9+=,.@_-]{1,64}$";

/**
 * The options of `ecs:push` provisioning (CLI flags `--region`, `--cluster-name`…), checked by core's
 * parseProvisionOptions before anything is touched: a name AWS would refuse fails there, with its rule.
 */
export const ECS_PROVISION_OPTIONS: ProvisionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    region: {
      type: "string",
      pattern: "^[a-z]{2}(-[a-z]+)+-\\d{1,2}$",
      description: "AWS region to provision in, e.g. us-east-1; unset: the AWS SDK's (AWS_REGION, your profile)",
    },
    execution_role_name: { type: "string", pattern: IAM_NAME, default: DEFAULT_NAMES.executionRole, description: "IAM role ECS tasks run with: 1-64 letters, digits and +=,.@_-" },
    user_name: { type: "string", pattern: IAM_NAME, default: DEFAULT_NAMES.user, description: "IAM user whose access key the pool uses: 1-64 letters, digits and +=,.@_-" },
    policy_name: { type: "string", pattern: "^[A-Za-z0-9+=,.@_-]{1,128}$", default: DEFAULT_NAMES.policy, description: "IAM policy of that user: 1-128 letters, digits and +=,.@_-" },
    cluster_name: { type: "string", pattern: "^[A-Za-z0-9_-]{1,255}$", default: DEFAULT_NAMES.cluster, description: "ECS cluster: 1-255 letters, digits, _ and -" },
    vpc_name: { type: "string", minLength: 1, maxLength: 255, default: DEFAULT_NAMES.vpc, description: "Name tag of the VPC made when the region has no default VPC: 1-255 characters" },
    repository_name: {
      type: "string",
      pattern: "^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$",
      default: DEFAULT_NAMES.repository,
      description: "ECR repository for flow images: lowercase letters, digits and ._-/ separators",
    },
    task_role_arn: {
      type: "string",
      pattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/[A-Za-z0-9+=,.@_/-]+$",
      description: "A task role runs may take (arn:aws:iam::<account>:role/<name>): the pool's policy may pass it too",
    },
  },
};

/** The names of an options object already checked against ECS_PROVISION_OPTIONS. */
export function resolveNames(options: Record<string, string>): ProvisioningNames {
  const names = { ...DEFAULT_NAMES };
  for (const [key, field] of Object.entries(NAME_OPTIONS)) {
    const value = options[key];
    if (value) names[field] = value;
  }
  return names;
}

/** Names derived from the VPC's, for the network pieces made with it. */
export function networkNames(vpc: string): { internetGateway: string; routeTable: string; securityGroup: string; subnet: (zone: string) => string } {
  return {
    internetGateway: `${vpc}-igw`,
    routeTable: `${vpc}-public`,
    securityGroup: `${vpc}-sg`,
    subnet: (zone) => `${vpc}-${zone}`,
  };
}
