/**
 * IAM documents provisioning writes. Pure, so what Ferry asks AWS to allow can be read and tested
 * without AWS.
 */

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

export const MANAGED_TASK_EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

/** The inline policy on the execution role: the managed policy cannot create log groups (Prefect's #20237). */
export const EXECUTION_ROLE_LOGS_POLICY_NAME = "ferry-create-log-group";

export function executionRoleTrustDocument(): { Version: "2012-10-17"; Statement: { Effect: "Allow"; Principal: { Service: string }; Action: string }[] } {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}

export function executionRoleLogsDocument(accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "CreateRunLogGroups",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup"],
        Resource: `arn:aws:logs:*:${accountId}:log-group:*`,
      },
    ],
  };
}

export interface EcsPolicyOptions {
  /** A task role runs may take: PassRole is granted on it too. */
  taskRoleArn?: string;
  /** Grant pulling from ECR (the default: provisioning makes a repository). */
  ecr?: boolean;
}

/**
 * What the pool's own IAM user may do: exactly the calls `ecs:push` execution makes, and PassRole only
 * on the roles its tasks take.
 */
export function ecsPolicyDocument(accountId: string, executionRoleArn: string, options: EcsPolicyOptions = {}): PolicyDocument {
  const passRoles = [executionRoleArn, ...(options.taskRoleArn ? [options.taskRoleArn] : [])];
  const statements: PolicyStatement[] = [
    {
      Sid: "RunTasks",
      Effect: "Allow",
      Action: [
        "ecs:RegisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "ecs:TagResource",
      ],
      Resource: "*",
    },
    {
      Sid: "ReadNetwork",
      Effect: "Allow",
      Action: ["ec2:DescribeVpcs", "ec2:DescribeSubnets"],
      Resource: "*",
    },
    {
      Sid: "RunLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogGroup", "logs:GetLogEvents"],
      Resource: `arn:aws:logs:*:${accountId}:log-group:*`,
    },
  ];
  if (options.ecr !== false) {
    // The token is account-wide; reading an image's manifest and config (the architecture check
    // before RunTask) is authorised per repository.
    statements.push(
      { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Sid: "ReadImages",
        Effect: "Allow",
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: `arn:aws:ecr:*:${accountId}:repository/*`,
      },
    );
  }
  statements.push({
    Sid: "PassTaskRoles",
    Effect: "Allow",
    Action: ["iam:PassRole"],
    Resource: passRoles,
    Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
  });
  return { Version: "2012-10-17", Statement: statements };
}
