import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { assertValidProvider, idempotencyKeyForRun, isFinalStatus, isManagedType, isPushType, type ComputeProvider } from "./provider.js";

function provider(overrides: Partial<Record<keyof ComputeProvider, unknown>> = {}): ComputeProvider {
  return {
    type: "ecs:push",
    description: "AWS ECS",
    credentialsType: "aws",
    defaultBaseJobTemplate: { variables: { type: "object", properties: {} }, job_configuration: {} },
    submit: async () => ({ infrastructureId: "task-1" }),
    status: async () => ({ phase: "running" }),
    cancel: async () => {},
    ...overrides,
  } as ComputeProvider;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe("validation_failed");
    return (error as FerryError).message;
  }
  throw new Error("expected a validation error");
}

describe("assertValidProvider", () => {
  it.each(["ecs:push", "cloud-run:push", "azure-container-instance:push", "k8s2:managed"])("accepts the type %s", (type) => {
    expect(() => assertValidProvider(provider({ type }), "@ferry/provider-x")).not.toThrow();
  });

  it.each(["ecs", "ECS:push", "ecs:pull", "ecs:push:v2", "ecs_push:push", ":push", "ecs :push"])("refuses the type %j, naming the plugin", (type) => {
    expect(messageOf(() => assertValidProvider(provider({ type }), "@ferry/provider-aws"))).toBe(
      `plugin @ferry/provider-aws: provider type '${type}' must look like 'name:push'`,
    );
  });

  it.each(["submit", "status", "cancel"] as const)("refuses a provider without %s()", (method) => {
    expect(messageOf(() => assertValidProvider(provider({ [method]: undefined }), "@ferry/provider-aws"))).toBe(
      `plugin @ferry/provider-aws: provider ecs:push has no ${method}()`,
    );
  });

  it("refuses a method that is not a function", () => {
    expect(messageOf(() => assertValidProvider(provider({ status: "yes" }), "p"))).toBe("plugin p: provider ecs:push has no status()");
  });

  it("does not require the optional watch() and logs()", () => {
    expect(() => assertValidProvider(provider({ watch: undefined, logs: undefined }), "p")).not.toThrow();
  });
});

describe("idempotencyKeyForRun", () => {
  it("is derived from the run id alone, the same on every call", () => {
    const id = "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    expect(idempotencyKeyForRun(id)).toBe(`ferry-${id}`);
    expect(idempotencyKeyForRun(id)).toBe(idempotencyKeyForRun(String(id)));
  });

  it("differs between runs", () => {
    expect(idempotencyKeyForRun("a")).not.toBe(idempotencyKeyForRun("b"));
  });
});

describe("pool type kinds", () => {
  it("tells push and managed types apart", () => {
    expect(isPushType("ecs:push")).toBe(true);
    expect(isPushType("ferry:managed")).toBe(false);
    expect(isManagedType("ferry:managed")).toBe(true);
    expect(isManagedType("ecs:push")).toBe(false);
  });
});

describe("isFinalStatus", () => {
  it("is true for exited, failed and missing only", () => {
    expect(isFinalStatus({ phase: "pending" })).toBe(false);
    expect(isFinalStatus({ phase: "running" })).toBe(false);
    expect(isFinalStatus({ phase: "exited", exitCode: 0 })).toBe(true);
    expect(isFinalStatus({ phase: "exited", exitCode: 1 })).toBe(true);
    expect(isFinalStatus({ phase: "failed", message: "m" })).toBe(true);
    expect(isFinalStatus({ phase: "missing" })).toBe(true);
  });
});
