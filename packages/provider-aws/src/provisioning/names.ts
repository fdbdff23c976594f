import { validationError } from "@ferry/core";

/** The names of what provisioning makes; every one can be overridden with an option of the same key. */
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

const OPTION_KEYS: Record<string, keyof ProvisioningNames> = {
  execution_role_name: "executionRole",
  user_name: "user",
  policy_name: "policy",
  cluster_name: "cluster",
  vpc_name: "vpc",
  repository_name: "repository",
};

/** Options that are not names. */
const OTHER_KEYS = new Set(["task_role_arn"]);

export const PROVISIONING_OPTION_KEYS = [...Object.keys(OPTION_KEYS), ...OTHER_KEYS];

const IAM_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const ECR_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** Reads the user's options once, so a typo in a key or a name AWS would refuse fails before anything is made. */
export function resolveNames(options: Record<string, string>): ProvisioningNames {
  const names = { ...DEFAULT_NAMES };
  const issues: { path: string; message: string }[] = [];
  for (const [key, value] of Object.entries(options)) {
    const field = OPTION_KEYS[key];
    if (field) names[field] = value;
    else if (!OTHER_KEYS.has(key)) issues.push({ path: key, message: `is not a provisioning option (known: ${PROVISIONING_OPTION_KEYS.join(", ")})` });
  }
  const check = (key: string, value: string, pattern: RegExp, rule: string) => {
    if (!pattern.test(value)) issues.push({ path: key, message: `'${value}' is not a valid name: ${rule}` });
  };
  check("execution_role_name", names.executionRole, IAM_NAME, "1-64 letters, digits and +=,.@_-");
  check("user_name", names.user, IAM_NAME, "1-64 letters, digits and +=,.@_-");
  check("policy_name", names.policy, /^[A-Za-z0-9+=,.@_-]{1,128}$/, "1-128 letters, digits and +=,.@_-");
  check("cluster_name", names.cluster, ECS_NAME, "1-255 letters, digits, _ and -");
  check("vpc_name", names.vpc, /^.{1,255}$/, "1-255 characters");
  check("repository_name", names.repository, ECR_NAME, "lowercase letters, digits and ._-/ separators");
  if (issues.length) throw validationError("invalid provisioning options", issues);
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
