import { describe, expect, it } from "vitest";
import { classifyGcpError, gcpErrorFacts, gcpErrorName } from "./errors.js";

/** What google-gax throws: a gRPC status number, Google's words in `details`, the code in the message. */
const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} X: ${details}`), { code, details });
/** What gaxios throws for a REST call. */
const restError = (status: number, googleStatus: string, message: string) =>
  Object.assign(new Error(message), { status, response: { status, data: { error: { code: status, status: googleStatus, message } } } });

describe("classifyGcpError", () => {
  it("retries a rate limit (RESOURCE_EXHAUSTED, 429) but not a quota", () => {
    const throttled = classifyGcpError(grpcError(8, "Too many requests: RunJob"), { operation: "RunJob" });
    expect(throttled).toMatchObject({ code: "provider_throttled", retryable: true });
    expect(throttled.message).toMatch(/^RunJob: Google Cloud is throttling/);
    const quota = classifyGcpError(grpcError(8, "Quota exceeded for quota metric 'Job executions' of service run.googleapis.com"));
    expect(quota).toMatchObject({ code: "provider_quota", retryable: false });
    expect(classifyGcpError(restError(429, "RESOURCE_EXHAUSTED", "Rate exceeded"))).toMatchObject({ code: "provider_throttled", retryable: true });
  });

  it("retries 500 and 503 (INTERNAL, UNAVAILABLE) and a dropped connection", () => {
    expect(classifyGcpError(grpcError(13, "internal"))).toMatchObject({ code: "provider_error", retryable: true });
    expect(classifyGcpError(grpcError(14, "Connection dropped"))).toMatchObject({ code: "provider_error", retryable: true });
    expect(classifyGcpError(restError(503, "UNAVAILABLE", "try again"))).toMatchObject({ code: "provider_error", retryable: true });
    expect(classifyGcpError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }))).toMatchObject({ retryable: true });
  });

  it("names the fix for a refused key, a missing permission and a disabled API", () => {
    const unauthenticated = classifyGcpError(grpcError(16, "Request had invalid authentication credentials."), { pool: "gcr" });
    expect(unauthenticated).toMatchObject({ code: "provider_auth", retryable: false });
    expect(unauthenticated.message).toMatch(/update the pool's gcp credentials/);
    const denied = classifyGcpError(grpcError(7, "Permission 'run.jobs.create' denied on resource"), { pool: "gcr", project: "p1" });
    expect(denied.message).toMatch(/roles\/run.developer.*ferry work-pool provision-infra gcr/);
    const user = classifyGcpError(grpcError(7, "Permission denied"), { identity: "user", operation: "CreateRepository" });
    expect(user.message).toMatch(/your Google identity may not do CreateRepository/);
    const disabled = classifyGcpError(grpcError(7, "Cloud Run Admin API has not been used in project 123 before or it is disabled."));
    expect(disabled.message).toMatch(/enable the API/);
  });

  it("reads NOT_FOUND and ALREADY_EXISTS from gRPC and REST alike", () => {
    expect(classifyGcpError(grpcError(5, "Resource 'x' was not found")).code).toBe("provider_not_found");
    expect(classifyGcpError(restError(404, "NOT_FOUND", "Unknown service account")).code).toBe("provider_not_found");
    expect(gcpErrorName(grpcError(6, "Resource 'j' already exists."))).toBe("ALREADY_EXISTS");
    expect(gcpErrorName(restError(409, "ALREADY_EXISTS", "exists"))).toBe("ALREADY_EXISTS");
  });

  it("keeps Google's words without gax's prefix, and masks secrets", () => {
    expect(gcpErrorFacts(grpcError(3, "bad field")).message).toBe("bad field");
    const e = classifyGcpError(grpcError(3, "field has -----BEGIN PRIVATE KEY-----abc"), { secrets: ["-----BEGIN PRIVATE KEY-----abc"] });
    expect(e.message).not.toContain("BEGIN PRIVATE KEY");
    expect(e).toMatchObject({ code: "provider_error", retryable: false });
  });
});
