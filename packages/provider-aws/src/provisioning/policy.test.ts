import { describe, expect, it } from "vitest";
import { ecsPolicyDocument, executionRoleLogsDocument, executionRoleTrustDocument } from "./policy.js";

const ROLE = "arn:aws:iam::123456789012:role/FerryEcsTaskExecutionRole";

describe("ecsPolicyDocument", () => {
  const doc = ecsPolicyDocument("123456789012", ROLE);
  const actions = doc.Statement.flatMap((s) => s.Action).sort();

  it("grants exactly what ecs:push execution calls", () => {
    expect(actions).toEqual(
      [
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:DescribeTasks",
        "ecs:RegisterTaskDefinition",
        "ecs:RunTask",
        "ecs:StopTask",
        "ecs:TagResource",
        "iam:PassRole",
        "logs:CreateLogGroup",
        "logs:GetLogEvents",
      ].sort(),
    );
    expect(actions.some((a) => a.includes("*"))).toBe(false);
  });

  it("limits PassRole to the execution role, passed to ECS tasks only", () => {
    const pass = doc.Statement.find((s) => s.Action.includes("iam:PassRole"))!;
    expect(pass.Resource).toEqual([ROLE]);
    expect(pass.Condition).toEqual({ StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
  });

  it("adds a task role to PassRole when given, and leaves ECR out when asked", () => {
    const withTask = ecsPolicyDocument("123456789012", ROLE, { taskRoleArn: "arn:aws:iam::123456789012:role/app", ecr: false });
    expect(withTask.Statement.find((s) => s.Action.includes("iam:PassRole"))!.Resource).toEqual([ROLE, "arn:aws:iam::123456789012:role/app"]);
    expect(withTask.Statement.flatMap((s) => s.Action).some((a) => a.startsWith("ecr:"))).toBe(false);
  });

  it("keeps logs to the account's log groups", () => {
    expect(doc.Statement.find((s) => s.Sid === "RunLogs")!.Resource).toBe("arn:aws:logs:*:123456789012:log-group:*");
  });
});

describe("execution role documents", () => {
  it("trusts ECS tasks only", () => {
    expect(executionRoleTrustDocument().Statement).toEqual([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);
  });

  it("lets the role create log groups, which the managed policy does not (Prefect #20237)", () => {
    expect(executionRoleLogsDocument("123456789012").Statement[0]).toMatchObject({ Action: ["logs:CreateLogGroup"] });
  });
});
