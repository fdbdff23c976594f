import { CloudWatchLogsServiceException, ResourceNotFoundException as LogsResourceNotFound, ThrottlingException as LogsThrottling } from "@aws-sdk/client-cloudwatch-logs";
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import {
  AccessDeniedException,
  ClientException,
  ClusterNotFoundException,
  ECSServiceException,
  InvalidParameterException,
  LimitExceededException,
  ServerException,
} from "@aws-sdk/client-ecs";
import { NoSuchEntityException } from "@aws-sdk/client-iam";
import { FerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { classifyAwsError, classifyRunTaskFailure, isAwsNotFound } from "./errors.js";

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const ecs = (name: string, message: string, status = 400, fault: "client" | "server" = "client") =>
  new ECSServiceException({ name, message, $fault: fault, ...meta(status) });
const ec2 = (name: string, message: string, status = 400) => new EC2ServiceException({ name, message, $fault: "client", ...meta(status) });
const networkError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:4566`), { code });

const ctx = { region: "us-east-1", cluster: "prod", pool: "my-pool", operation: "RunTask" };

describe("classifyAwsError", () => {
  it.each([
    ["ECS ThrottlingException", ecs("ThrottlingException", "Rate exceeded")],
    ["CloudWatch Logs ThrottlingException", new LogsThrottling({ message: "Rate exceeded", ...meta(400) })],
    ["TooManyRequestsException", ecs("TooManyRequestsException", "Too many requests", 429)],
    ["EC2 RequestLimitExceeded", ec2("RequestLimitExceeded", "Request limit exceeded.", 503)],
    ["a ClientException saying rate exceeded", new ClientException({ message: "Rate exceeded", ...meta(400) })],
    ["an HTTP 429 of unknown name", ecs("SomethingNew", "slow down", 429)],
    ["the SDK's throttling marker", Object.assign(ecs("Weird", "x"), { $retryable: { throttling: true } })],
  ])("%s is provider_throttled and retryable", (_label, error) => {
    const e = classifyAwsError(error, ctx);
    expect(e).toBeInstanceOf(FerryError);
    expect(e.code).toBe("provider_throttled");
    expect(e.retryable).toBe(true);
    expect(e.cause).toBe(error);
    expect(e.message).toMatch(/^RunTask: AWS is throttling requests in us-east-1/);
  });

  it.each([
    ["ServerException", new ServerException({ message: "Service unavailable", ...meta(500) })],
    ["InternalFailure", ecs("InternalFailure", "internal", 500, "server")],
    ["ServiceUnavailable", ec2("ServiceUnavailable", "try later", 503)],
    ["a 502 of unknown name", ecs("BadGateway", "bad gateway", 502, "server")],
  ])("%s is a retryable provider_error", (_label, error) => {
    const e = classifyAwsError(error, ctx);
    expect(e.code).toBe("provider_error");
    expect(e.retryable).toBe(true);
    expect(e.message).toContain("internal error");
  });

  it.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"])("network error %s is a retryable provider_error", (code) => {
    const e = classifyAwsError(networkError(code), ctx);
    expect(e.code).toBe("provider_error");
    expect(e.retryable).toBe(true);
    expect(e.message).toContain("could not reach AWS in us-east-1");
  });

  it("a TimeoutError is retryable", () => {
    const error = Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
    expect(classifyAwsError(error, ctx)).toMatchObject({ code: "provider_error", retryable: true });
  });

  it.each([
    ["ECS AccessDeniedException", new AccessDeniedException({ message: "User is not authorized to perform ecs:RunTask", ...meta(400) }), /not allowed/],
    ["IAM AccessDenied", ecs("AccessDenied", "User: arn:aws:iam::1:user/x is not authorized", 403), /not allowed/],
    ["EC2 UnauthorizedOperation", ec2("UnauthorizedOperation", "You are not authorized to perform this operation.", 403), /not allowed/],
    ["UnrecognizedClientException", ecs("UnrecognizedClientException", "The security token included in the request is invalid.", 400), /did not accept/],
    ["InvalidClientTokenId", ecs("InvalidClientTokenId", "The security token included in the request is invalid.", 403), /did not accept/],
    ["ExpiredToken", ecs("ExpiredToken", "The security token included in the request is expired", 400), /expired/],
    ["ExpiredTokenException", ecs("ExpiredTokenException", "The security token included in the request is expired", 400), /expired/],
    ["SignatureDoesNotMatch", ecs("SignatureDoesNotMatch", "The request signature we calculated does not match", 403), /did not accept/],
    ["EC2 AuthFailure", ec2("AuthFailure", "AWS was not able to validate the provided access credentials", 401), /did not accept/],
    ["a 401 of unknown name", ecs("Nope", "no", 401), /did not accept/],
  ])("%s is provider_auth, not retryable", (_label, error, words) => {
    const e = classifyAwsError(error, ctx);
    expect(e.code).toBe("provider_auth");
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(words);
  });

  it("an access denial names the fix", () => {
    const e = classifyAwsError(new AccessDeniedException({ message: "denied", ...meta(400) }), ctx);
    expect(e.message).toContain("ferry work-pool provision-infra my-pool");
  });

  it("a missing cluster names the cluster, the region and the fix", () => {
    const e = classifyAwsError(new ClusterNotFoundException({ message: "Cluster not found.", ...meta(400) }), ctx);
    expect(e.code).toBe("provider_not_found");
    expect(e.retryable).toBe(false);
    expect(e.message).toBe(
      "RunTask: the ECS cluster 'prod' does not exist in us-east-1: run 'ferry work-pool provision-infra my-pool' or set the cluster job variable",
    );
  });

  it("a missing cluster without context says 'default' and POOL", () => {
    const e = classifyAwsError(new ClusterNotFoundException({ message: "Cluster not found.", ...meta(400) }));
    expect(e.message).toBe("the ECS cluster 'default' does not exist: run 'ferry work-pool provision-infra POOL' or set the cluster job variable");
  });

  it.each([
    ["a task definition that cannot be described", new ClientException({ message: "Unable to describe task definition.", ...meta(400) })],
    ["IAM NoSuchEntity", new NoSuchEntityException({ message: "The role with name x cannot be found.", ...meta(404) })],
    ["a logs ResourceNotFoundException", new LogsResourceNotFound({ message: "The specified log stream does not exist.", ...meta(400) })],
    ["EC2 InvalidSubnetID.NotFound", ec2("InvalidSubnetID.NotFound", "The subnet ID 'subnet-1' does not exist")],
    ["EC2 InvalidVpcID.NotFound", ec2("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist")],
    ["EC2 InvalidGroup.NotFound", ec2("InvalidGroup.NotFound", "The security group 'sg-1' does not exist")],
    ["an InvalidParameterException about a missing task", new InvalidParameterException({ message: "The referenced task was not found.", ...meta(400) })],
    ["an InvalidParameterException about a missing subnet", new InvalidParameterException({ message: "Error retrieving subnet information for [subnet-1]: The subnet ID 'subnet-1' does not exist", ...meta(400) })],
  ])("%s is provider_not_found", (_label, error) => {
    const e = classifyAwsError(error, ctx);
    expect(e.code).toBe("provider_not_found");
    expect(e.retryable).toBe(false);
  });

  it("a missing subnet points at the job variables", () => {
    const e = classifyAwsError(ec2("InvalidSubnetID.NotFound", "The subnet ID 'subnet-1' does not exist"), ctx);
    expect(e.message).toContain("subnets");
    expect(e.message).toContain("subnet-1");
  });

  it.each([
    ["ECS LimitExceededException", new LimitExceededException({ message: "The limit for task definition revisions was reached", ...meta(400) })],
    ["ServiceQuotaExceededException", new CloudWatchLogsServiceException({ name: "ServiceQuotaExceededException", message: "quota", $fault: "client", ...meta(400) })],
    ["EC2 VpcLimitExceeded", ec2("VpcLimitExceeded", "The maximum number of VPCs has been reached.")],
    ["a message naming a quota", ecs("ClientException", "You've reached the quota for tasks")],
  ])("%s is provider_quota, not retryable", (_label, error) => {
    const e = classifyAwsError(error, ctx);
    expect(e.code).toBe("provider_quota");
    expect(e.retryable).toBe(false);
    expect(e.message).toContain("Service Quotas");
  });

  it("a ClientException about the execution role names the job variable", () => {
    const e = classifyAwsError(new ClientException({ message: "Fargate requires task definition to have execution role ARN to support ECR images.", ...meta(400) }), ctx);
    expect(e).toMatchObject({ code: "provider_error", retryable: false });
    expect(e.message).toContain("execution_role_arn");
  });

  it.each([
    ["an invalid parameter", new InvalidParameterException({ message: "Invalid 'cpu' setting for task.", ...meta(400) })],
    ["another client error", new ClientException({ message: "Too many containers.", ...meta(400) })],
    ["a validation error", ecs("ValidationException", "1 validation error detected")],
  ])("%s is a permanent provider_error", (_label, error) => {
    const e = classifyAwsError(error, ctx);
    expect(e).toMatchObject({ code: "provider_error", retryable: false });
    expect(e.message).toContain("AWS refused the request");
  });

  it("a plain programming error is a permanent provider_error, never retried", () => {
    const e = classifyAwsError(new TypeError("x is undefined"));
    expect(e).toMatchObject({ code: "provider_error", retryable: false, message: "x is undefined" });
  });

  it("a non-Error value still becomes a FerryError", () => {
    expect(classifyAwsError("boom")).toMatchObject({ code: "provider_error", message: "boom" });
  });

  it("an abort is not retried", () => {
    const error = Object.assign(new Error("Request aborted"), { name: "AbortError" });
    expect(classifyAwsError(error)).toMatchObject({ code: "provider_error", retryable: false });
  });

  it("a FerryError passes through unchanged", () => {
    const original = new FerryError("validation_failed", "bad");
    expect(classifyAwsError(original)).toBe(original);
  });

  it("keeps the AWS error name and HTTP status in details", () => {
    const e = classifyAwsError(new ServerException({ message: "x", ...meta(500) }));
    expect(e.details).toEqual({ aws_error: "ServerException", http_status: 500 });
  });
});

describe("classifyRunTaskFailure", () => {
  it.each([
    [{ reason: "RESOURCE:MEMORY" }],
    [{ reason: "RESOURCE:CPU" }],
    [{ reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }],
  ])("no capacity (%o) is a retryable provider_quota", (failure) => {
    const e = classifyRunTaskFailure(failure, ctx);
    expect(e).toMatchObject({ code: "provider_quota", retryable: true });
    expect(e.message).toContain("no capacity");
    expect(e.message).toContain("'prod'");
  });

  it("MISSING is provider_not_found", () => {
    expect(classifyRunTaskFailure({ reason: "MISSING", arn: "arn:aws:ecs:…:cluster/prod" }, ctx)).toMatchObject({ code: "provider_not_found", retryable: false });
  });

  it("AGENT is retryable", () => {
    expect(classifyRunTaskFailure({ reason: "AGENT" }, ctx)).toMatchObject({ code: "provider_error", retryable: true });
  });

  it("anything else is a permanent provider_error with the reason and detail", () => {
    const e = classifyRunTaskFailure({ reason: "SOMETHING", detail: "odd" }, ctx);
    expect(e).toMatchObject({ code: "provider_error", retryable: false });
    expect(e.message).toContain("SOMETHING (odd)");
  });
});

describe("classifyAwsError with the user's own identity (provisioning, a registry login)", () => {
  const awsError = (name: string, message = "AWS says no") => Object.assign(new Error(message), { name, $metadata: {} });
  const user = (action: string, target?: string) => ({ identity: "user" as const, action, ...(target ? { target } : {}) });

  it("names the missing permission and says to use an administrator identity", () => {
    const error = awsError("AccessDenied", "User: arn:aws:iam::1:user/bob is not authorized to perform: iam:CreateRole");
    const e = classifyAwsError(error, user("iam:CreateRole", "the execution role FerryEcsTaskExecutionRole"));
    expect(e).toMatchObject({ code: "provider_auth", retryable: false });
    expect(e.message).toMatch(/^your AWS identity lacks iam:CreateRole \(the execution role FerryEcsTaskExecutionRole\); use an identity with administrator access for provisioning/);
    expect(e.cause).toBe(error);
  });

  it.each([
    ["UnauthorizedOperation", "provider_auth"],
    ["InvalidClientTokenId", "provider_auth"],
    ["ExpiredToken", "provider_auth"],
    ["Throttling", "provider_throttled"],
    ["RequestLimitExceeded", "provider_throttled"],
    ["LimitExceeded", "provider_quota"],
    ["VpcLimitExceeded", "provider_quota"],
    ["NoSuchEntity", "provider_not_found"],
    ["EntityAlreadyExists", "provider_error"],
  ])("%s is %s, as for the pool's credentials", (name, code) => {
    expect(classifyAwsError(awsError(name), user("x:Y")).code).toBe(code);
    expect(classifyAwsError(awsError(name), {}).code).toBe(code);
  });

  it("says how to give credentials when there are none", () => {
    const e = classifyAwsError(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }), user("sts:GetCallerIdentity"));
    expect(e.code).toBe("provider_auth");
    expect(e.message).toMatch(/AWS_PROFILE/);
  });

  it("asks for a region when none resolves", () => {
    const e = classifyAwsError(new Error("Region is missing"), user("sts:GetCallerIdentity"));
    expect(e).toMatchObject({ code: "validation_failed", retryable: false });
    expect(e.message).toMatch(/--region/);
  });

  it("treats an unreachable endpoint as retryable, naming the action", () => {
    const e = classifyAwsError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), user("ecs:CreateCluster"));
    expect(e).toMatchObject({ retryable: true, message: "could not reach AWS for ecs:CreateCluster: connect ECONNREFUSED" });
  });

  it("reads the query protocol's Code", () => {
    expect(classifyAwsError(Object.assign(new Error("no"), { Code: "NoSuchEntity" }), user("iam:GetRole")).code).toBe("provider_not_found");
  });

  it("recognises every service's not-found answer", () => {
    expect(isAwsNotFound(awsError("NoSuchEntity"))).toBe(true);
    expect(isAwsNotFound(awsError("RepositoryNotFoundException"))).toBe(true);
    expect(isAwsNotFound(awsError("InvalidVpcID.NotFound"))).toBe(true);
    expect(isAwsNotFound(awsError("AccessDenied"))).toBe(false);
    expect(isAwsNotFound(awsError("ThrottlingException", "the thing was not found, slow down"))).toBe(false);
  });
});

describe("classifyAwsError keeps secrets out", () => {
  it("masks a secret AWS repeats, in the message and the cause", () => {
    const e = classifyAwsError(new ClientException({ message: "bad key wJalrXUtnFEMI", ...meta(400) }), { secrets: ["wJalrXUtnFEMI"] });
    expect(e.message).not.toContain("wJalrXUtnFEMI");
    expect((e.cause as Error).message).not.toContain("wJalrXUtnFEMI");
  });
});
