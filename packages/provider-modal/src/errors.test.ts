import { isFerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { classifyModalError, modalErrorFacts } from "./errors.js";

/** The shape of nice-grpc's ClientError, which the SDK lets through for most RPCs. */
function grpcError(code: number, details: string): Error {
  const e = new Error(`/modal.client.ModalClient/SandboxCreate ${code}: ${details}`) as Error & { code: number; details: string };
  e.name = "ClientError";
  e.code = code;
  e.details = details;
  return e;
}

function sdkError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

describe("modalErrorFacts", () => {
  it("reads a gRPC status by name, with Modal's words", () => {
    expect(modalErrorFacts(grpcError(16, "Token missing. Could not authenticate client."))).toMatchObject({ name: "UNAUTHENTICATED", code: "16", message: "Token missing. Could not authenticate client.", fault: "client" });
  });

  it("reads the SDK's own error classes by name", () => {
    expect(modalErrorFacts(sdkError("NotFoundError", "App 'x' not found"))).toMatchObject({ name: "NotFoundError", message: "App 'x' not found" });
  });
});

describe("classifyModalError", () => {
  it("an unknown or revoked token is provider_auth, not retryable, and says how to make one", () => {
    const error = classifyModalError(grpcError(16, "Invalid token"), { operation: "sandboxes.create", pool: "p" });
    expect(error).toMatchObject({ code: "provider_auth", retryable: false });
    expect(error.message).toBe("sandboxes.create: Modal did not accept the pool's token (Invalid token): make a token with 'modal token new' (or at https://modal.com/settings/tokens) and store it with 'ferry work-pool provision-infra p'");
  });

  it("a quota is provider_quota in plain words", () => {
    const error = classifyModalError(grpcError(8, "Sandbox concurrency limit of 100 reached"));
    expect(error).toMatchObject({ code: "provider_quota", retryable: false });
    expect(error.message).toContain("a limit of the workspace (Sandbox concurrency limit of 100 reached)");
    expect(classifyModalError(sdkError("ResourceExhaustedError", "Insufficient capacity to create sandbox."))).toMatchObject({ code: "provider_quota" });
  });

  it("a rate limit is throttling, retryable", () => {
    expect(classifyModalError(grpcError(8, "Rate limit exceeded, slow down"))).toMatchObject({ code: "provider_throttled", retryable: true });
  });

  it("an unreachable or failing Modal is retryable", () => {
    expect(classifyModalError(grpcError(14, "Connection refused"))).toMatchObject({ code: "provider_error", retryable: true });
    expect(classifyModalError(grpcError(13, "boom"))).toMatchObject({ code: "provider_error", retryable: true });
  });

  it("not found, with the fix for a missing secret or environment", () => {
    expect(classifyModalError(sdkError("NotFoundError", "Secret 'db' not found"))).toMatchObject({ code: "provider_not_found", message: expect.stringContaining("modal secret create") });
    expect(classifyModalError(sdkError("NotFoundError", "Environment 'x' not found"))).toMatchObject({ code: "provider_not_found", message: expect.stringContaining("environment job variable") });
    expect(classifyModalError(grpcError(5, "Sandbox not found"))).toMatchObject({ code: "provider_not_found" });
  });

  it("an image that cannot be built is refused, naming the image", () => {
    const error = classifyModalError(new Error("Image build for im-123 failed with the exception:\nmanifest unknown"), { image: "nope:1" });
    expect(error).toMatchObject({ code: "provider_error", retryable: false });
    expect(error.message).toContain("Modal could not build the image 'nope:1': manifest unknown");
  });

  it("a bad request and a name taken are refused, not retried", () => {
    expect(classifyModalError(grpcError(3, "bad"))).toMatchObject({ code: "provider_error", retryable: false });
    expect(classifyModalError(sdkError("AlreadyExistsError", "taken"))).toMatchObject({ code: "provider_error", retryable: false, details: { modal_error: "AlreadyExistsError" } });
  });

  it("missing credentials name the fix for the user's own token", () => {
    const error = classifyModalError(new Error("Profile is missing credentials. Please set them in .modal.toml"), { identity: "user" });
    expect(error.code).toBe("provider_auth");
    expect(error.message).toContain("MODAL_TOKEN_ID");
  });

  it("keeps the secret out", () => {
    const error = classifyModalError(grpcError(16, "bad token as-SECRET123"), { secrets: ["as-SECRET123"] });
    expect(isFerryError(error)).toBe(true);
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain("as-SECRET123");
  });
});
