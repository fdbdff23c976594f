import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import { AuthenticationError } from "@azure/identity";
import { isFerryError } from "@ferry/core";
import { containsSecret } from "@ferry/provider-kit";
import { describe, expect, it } from "vitest";
import { classifyAzureError, isAzureNotFound, retryAfterMs } from "./errors.js";

/** A RestError as the SDK throws it for an ARM answer `{error: {code, message}}`. */
function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: "https://management.azure.com/x" });
  return new RestError(message, {
    code,
    statusCode: status,
    request,
    response: { status, headers: createHttpHeaders({ "x-ms-request-id": "req-123", ...headers }), request },
  });
}

describe("classifyAzureError", () => {
  it("calls a 429 throttling, retryable, and reads its Retry-After", () => {
    const error = armError(429, "TooManyRequests", "Too many requests", { "retry-after": "7" });
    const classified = classifyAzureError(error, { operation: "ContainerGroups.CreateOrUpdate" });
    expect(classified).toMatchObject({ code: "provider_throttled", retryable: true });
    expect(classified.message).toMatch(/^ContainerGroups.CreateOrUpdate: Azure is throttling/);
    expect(retryAfterMs(classified)).toBe(7000);
    expect(retryAfterMs(armError(429, "TooManyRequests", "x", { "retry-after": new Date(Date.UTC(2030, 0, 1, 0, 0, 5)).toUTCString() }), () => Date.UTC(2030, 0, 1))).toBe(5000);
    expect(retryAfterMs(armError(500, "InternalServerError", "x"))).toBeUndefined();
  });

  it("names the image when it cannot be pulled", () => {
    const classified = classifyAzureError(armError(400, "InaccessibleImage", "The image 'nope:1' in container group 'g' is not accessible."));
    expect(classified).toMatchObject({ code: "provider_error", retryable: false });
    expect(classified.message).toMatch(/the image could not be pulled: The image 'nope:1'/);
  });

  it("retries a region without capacity, and calls a group quota a quota", () => {
    expect(classifyAzureError(armError(409, "ServiceUnavailable", "The requested resource is not available in the location 'eastus'"), { location: "eastus" })).toMatchObject({
      code: "provider_quota",
      retryable: true,
      message: expect.stringMatching(/no capacity for the group in eastus.*another location/),
    });
    expect(classifyAzureError(armError(409, "ContainerGroupQuotaReached", "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded"))).toMatchObject({
      code: "provider_quota",
      retryable: false,
    });
  });

  it("names the subnet fix for a bad subnet", () => {
    expect(classifyAzureError(armError(400, "InvalidSubnet", "Subnet 'x' is invalid")).message).toMatch(/delegated to Microsoft.ContainerInstance/);
  });

  it("tells an authorization failure (role) from an authentication failure (secret)", () => {
    const denied = classifyAzureError(armError(403, "AuthorizationFailed", "The client 'c' does not have authorization to perform action"), { resourceGroup: "rg", pool: "aci" });
    expect(denied).toMatchObject({ code: "provider_auth", retryable: false });
    expect(denied.message).toMatch(/Contributor role on the resource group 'rg'.*provision-infra aci/);
    const secret = "s3cr3t-value";
    const auth = new AuthenticationError(401, { error: "invalid_client", error_description: `AADSTS7000215: Invalid client secret provided ${secret}.\nTrace ID: x` });
    const classified = classifyAzureError(auth, { secrets: [secret] });
    expect(classified).toMatchObject({ code: "provider_auth" });
    expect(classified.message).toMatch(/did not accept the pool's service principal.*AADSTS7000215/);
    expect(containsSecret(classified, [secret])).toBe(false);
    expect(classifyAzureError(auth, { identity: "user", action: "creating the resource group" }).message).toMatch(/did not accept your identity/);
  });

  it("tells a missing resource group from a missing group", () => {
    const rg = classifyAzureError(armError(404, "ResourceGroupNotFound", "Resource group 'rg' could not be found."), { resourceGroup: "rg" });
    expect(rg).toMatchObject({ code: "provider_not_found" });
    expect(rg.message).toMatch(/set resource_group_name or run 'ferry work-pool provision-infra POOL'/);
    expect(isAzureNotFound(armError(404, "ResourceNotFound", "gone"))).toBe(true);
    expect(isAzureNotFound(armError(400, "InvalidParameter", "bad"))).toBe(false);
  });

  it("retries 5xx and failed connections, refuses other 4xx", () => {
    expect(classifyAzureError(armError(500, "InternalServerError", "oops"))).toMatchObject({ code: "provider_error", retryable: true });
    const refused = Object.assign(new RestError("connect ECONNREFUSED 127.0.0.1:1", { code: "ECONNREFUSED" }), {});
    expect(classifyAzureError(refused)).toMatchObject({ code: "provider_error", retryable: true, message: /could not reach Azure/ });
    const bad = classifyAzureError(armError(400, "InvalidRequestContent", "cpu must be positive"));
    expect(bad).toMatchObject({ code: "provider_error", retryable: false });
    expect(bad.message).toMatch(/InvalidRequestContent: cpu must be positive/);
    expect(isFerryError(bad)).toBe(true);
  });
});
