import { FerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { classifyAwsError, isAwsNotFound } from "./aws-errors.js";

function awsError(name: string, message = "AWS says no"): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

describe("classifyAwsError", () => {
  it("names the missing permission and says to use an administrator identity", () => {
    const e = classifyAwsError(awsError("AccessDenied", "User: arn:aws:iam::1:user/bob is not authorized to perform: iam:CreateRole"), {
      action: "iam:CreateRole",
      target: "the execution role FerryEcsTaskExecutionRole",
    });
    expect(e).toBeInstanceOf(FerryError);
    expect(e.code).toBe("provider_auth");
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/^your AWS identity lacks iam:CreateRole \(the execution role FerryEcsTaskExecutionRole\); use an identity with administrator access for provisioning/);
    expect(e.cause).toBeInstanceOf(Error);
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
  ])("%s is %s", (name, code) => {
    expect(classifyAwsError(awsError(name), { action: "x:Y" }).code).toBe(code);
  });

  it("says how to give credentials when there are none", () => {
    const e = classifyAwsError(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }), { action: "sts:GetCallerIdentity" });
    expect(e.code).toBe("provider_auth");
    expect(e.message).toMatch(/AWS_PROFILE/);
  });

  it("asks for a region when none resolves", () => {
    expect(classifyAwsError(new Error("Region is missing"), { action: "sts:GetCallerIdentity" }).message).toMatch(/--region/);
  });

  it("treats an unreachable endpoint as retryable", () => {
    const e = classifyAwsError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), { action: "ecs:CreateCluster" });
    expect(e.retryable).toBe(true);
  });

  it("recognises every service's not-found answer", () => {
    expect(isAwsNotFound(awsError("NoSuchEntity"))).toBe(true);
    expect(isAwsNotFound(awsError("RepositoryNotFoundException"))).toBe(true);
    expect(isAwsNotFound(awsError("InvalidVpcID.NotFound"))).toBe(true);
    expect(isAwsNotFound(awsError("AccessDenied"))).toBe(false);
  });
});
