import { describe, expect, it } from "vitest";
import { classifyKubernetesError } from "./kubernetes-errors.js";

const context = { action: "create the run's Job", namespace: "ferry-runs" };
const api = (code: number, message: string) => Object.assign(new Error("HTTP-Code"), { code, body: JSON.stringify({ kind: "Status", message, code }) });

describe("classifyKubernetesError", () => {
  it("turns a 403 into an auth error that names the Role to give", () => {
    const error = classifyKubernetesError(api(403, 'jobs.batch is forbidden: User "system:serviceaccount:ferry:ferry" cannot create resource "jobs"'), context);
    expect(error).toMatchObject({ code: "provider_auth", retryable: false, message: expect.stringMatching(/cannot create resource "jobs".*Role in that namespace/) });
  });

  it("keeps the API's words for not found, conflicts and refused requests", () => {
    expect(classifyKubernetesError(api(404, 'jobs.batch "x" not found'), context)).toMatchObject({ code: "not_found", message: expect.stringContaining('"x" not found') });
    expect(classifyKubernetesError(api(409, "already exists"), context).code).toBe("conflict");
    expect(classifyKubernetesError(api(422, "Job.batch is invalid"), context)).toMatchObject({ code: "validation_failed", retryable: false });
  });

  it("makes throttling, server errors and no answer retryable", () => {
    expect(classifyKubernetesError(api(429, "slow down"), context)).toMatchObject({ code: "provider_throttled", retryable: true });
    expect(classifyKubernetesError(api(503, "etcd"), context)).toMatchObject({ code: "unavailable", retryable: true });
    expect(classifyKubernetesError(new TypeError("fetch failed"), context)).toMatchObject({ code: "unavailable", retryable: true, message: expect.stringContaining("fetch failed") });
  });
});
