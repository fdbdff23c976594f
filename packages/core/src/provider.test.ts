import { describe, expect, it } from "vitest";
import { isFerryError, type FerryError } from "./errors.js";
import {
  assertValidProvider,
  assertValidProvisioner,
  idempotencyKeyForRun,
  isFinalStatus,
  isManagedType,
  isPushType,
  parseProvisionOptions,
  type ComputeProvider,
  type Provisioner,
} from "./provider.js";

function provider(overrides: Partial<Record<keyof ComputeProvider, unknown>> = {}): ComputeProvider {
  return {
    type: "acme:push",
    description: "Acme batch jobs",
    credentialsType: "keypair",
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
    expect(isFerryError(error)).toBe(true);
    expect((error as FerryError).code).toBe("validation_failed");
    return (error as FerryError).message;
  }
  throw new Error("expected a validation error");
}

describe("assertValidProvider", () => {
  it.each(["acme:push", "acme-batch:push", "a-long-cloud-name:push", "k8s2:managed"])("accepts the type %s", (type) => {
    expect(() => assertValidProvider(provider({ type }), "@ferry/provider-x")).not.toThrow();
  });

  it.each(["acme", "ACME:push", "acme:pull", "acme:push:v2", "acme_batch:push", ":push", "acme :push"])("refuses the type %j, naming the plugin", (type) => {
    expect(messageOf(() => assertValidProvider(provider({ type }), "@acme/provider"))).toBe(
      `plugin @acme/provider: provider type '${type}' must look like 'name:push'`,
    );
  });

  it.each(["submit", "status", "cancel"] as const)("refuses a provider without %s()", (method) => {
    expect(messageOf(() => assertValidProvider(provider({ [method]: undefined }), "@acme/provider"))).toBe(
      `plugin @acme/provider: provider acme:push has no ${method}()`,
    );
  });

  it("refuses a method that is not a function", () => {
    expect(messageOf(() => assertValidProvider(provider({ status: "yes" }), "p"))).toBe("plugin p: provider acme:push has no status()");
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
    expect(isPushType("acme:push")).toBe(true);
    expect(isPushType("ferry:managed")).toBe(false);
    expect(isManagedType("ferry:managed")).toBe(true);
    expect(isManagedType("acme:push")).toBe(false);
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

function provisioner(overrides: Partial<Record<keyof Provisioner, unknown>> = {}): Provisioner {
  return {
    type: "acme:push",
    optionsSchema: {
      type: "object",
      additionalProperties: false,
      properties: {
        region: { type: "string", description: "Acme region, e.g. north-1", pattern: "^[a-z]+-[0-9]$" },
        cluster_name: { type: "string", description: "cluster to make (1-20 letters)", minLength: 1, maxLength: 20 },
      },
    },
    plan: async () => [],
    apply: async () => ({ jobVariableDefaults: {} }),
    planRemoval: async () => [],
    remove: async () => [],
    ...overrides,
  } as Provisioner;
}

describe("assertValidProvisioner", () => {
  it("accepts a complete provisioner", () => {
    expect(() => assertValidProvisioner(provisioner(), "@acme/provider/client")).not.toThrow();
  });

  it.each(["plan", "apply", "planRemoval", "remove"] as const)("refuses a provisioner without %s()", (method) => {
    expect(messageOf(() => assertValidProvisioner(provisioner({ [method]: undefined }), "p"))).toBe(`plugin p: provisioner acme:push has no ${method}()`);
  });

  it("refuses a bad type, a missing schema and options that are not snake_case strings with a description", () => {
    expect(messageOf(() => assertValidProvisioner(provisioner({ type: "acme" }), "p"))).toBe("plugin p: provisioner type 'acme' must look like 'name:push'");
    expect(messageOf(() => assertValidProvisioner(provisioner({ optionsSchema: undefined }), "p"))).toMatch(/has no optionsSchema/);
    for (const property of [{ "Cluster-Name": { type: "string", description: "d" } }, { n: { type: "integer", description: "d" } }, { n: { type: "string" } }]) {
      const bad = provisioner({ optionsSchema: { type: "object", additionalProperties: false, properties: property } });
      expect(messageOf(() => assertValidProvisioner(bad, "p"))).toMatch(/must be snake_case, of type string, with a description/);
    }
  });
});

describe("parseProvisionOptions", () => {
  it("keeps the known options that are set, and drops the unset ones", () => {
    expect(parseProvisionOptions(provisioner(), { region: "north-1", cluster_name: undefined })).toEqual({ region: "north-1" });
    expect(parseProvisionOptions(provisioner(), {})).toEqual({});
  });

  it("names every unknown key and bad value at once, before anything is touched", () => {
    let error: FerryError | undefined;
    try {
      parseProvisionOptions(provisioner(), { regoin: "north-1", region: "North 1", cluster_name: "x".repeat(21) });
    } catch (e) {
      error = e as FerryError;
    }
    expect(error?.code).toBe("validation_failed");
    expect(error?.message).toBe(
      "invalid provisioning options for acme:push: regoin is not a provisioning option of acme:push (its options: region, cluster_name); " +
        "region 'North 1' is not valid: Acme region, e.g. north-1; cluster_name must have at most 20 characters",
    );
  });

  it("does not take an option from the object prototype", () => {
    expect(() => parseProvisionOptions(provisioner(), { constructor: "x" })).toThrow(/constructor is not a provisioning option/);
  });
});
