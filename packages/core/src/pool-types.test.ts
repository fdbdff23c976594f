import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { renderJobConfiguration, resolveJobVariables, templateDefaults, validateBaseJobTemplate } from "./job-template.js";
import { DEFAULT_ENGINE_IMAGE, MANAGED_BASE_JOB_TEMPLATE, MANAGED_POOL_TYPE, PoolTypeRegistry } from "./pool-types.js";
import type { ComputeProvider, Provisioner } from "./provider.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

function fakeProvider(type: string, extra: Partial<ComputeProvider> = {}): ComputeProvider {
  return {
    type,
    description: `${type} for tests`,
    credentialsType: "aws",
    defaultBaseJobTemplate: { variables: { type: "object", properties: { cpu: { type: "integer", default: 256 } } }, job_configuration: { cpu: "{{ cpu }}" } },
    submit: async () => ({ infrastructureId: "i-1" }),
    status: async () => ({ phase: "running" }),
    cancel: async () => {},
    ...extra,
  };
}

function fakeProvisioner(type: string): Provisioner {
  return {
    type,
    plan: async () => [],
    apply: async () => ({ jobVariableDefaults: {} }),
  };
}

describe("MANAGED_BASE_JOB_TEMPLATE", () => {
  it("is a valid template", () => {
    expect(validateBaseJobTemplate(MANAGED_BASE_JOB_TEMPLATE)).toBe(MANAGED_BASE_JOB_TEMPLATE);
  });

  it("defaults to the engine image and no packages", () => {
    expect(templateDefaults(MANAGED_BASE_JOB_TEMPLATE)).toEqual({ image: DEFAULT_ENGINE_IMAGE, pip_packages: [], npm_packages: [], env: {} });
  });

  it("renders a run's packages and environment", () => {
    const variables = resolveJobVariables(MANAGED_BASE_JOB_TEMPLATE, { pip_packages: ["pandas==2.2"], env: { LEVEL: "debug" } });
    expect(renderJobConfiguration(MANAGED_BASE_JOB_TEMPLATE, variables)).toEqual({
      image: "ferry-engine:latest",
      pip_packages: ["pandas==2.2"],
      npm_packages: [],
      env: { LEVEL: "debug" },
    });
  });

  it("refuses more than 200 packages and non-string environment values", () => {
    expect(() => resolveJobVariables(MANAGED_BASE_JOB_TEMPLATE, { npm_packages: Array.from({ length: 201 }, (_, i) => `p${i}`) })).toThrow(
      "job variables are incomplete or invalid: /npm_packages must NOT have more than 200 items",
    );
    expect(() => resolveJobVariables(MANAGED_BASE_JOB_TEMPLATE, { env: { PORT: 8080 } })).toThrow(
      "job variables are incomplete or invalid: /env/PORT must be string",
    );
  });
});

describe("PoolTypeRegistry", () => {
  it("has the managed type built in, with no provider", () => {
    const registry = new PoolTypeRegistry();
    expect(registry.names()).toEqual([MANAGED_POOL_TYPE]);
    expect(registry.has("ferry:managed")).toBe(true);
    expect(registry.get("ferry:managed")).toEqual({
      type: "ferry:managed",
      description: "Ferry runs each flow run in a container on its own infrastructure",
      managed: true,
      credentialsType: null,
      defaultBaseJobTemplate: MANAGED_BASE_JOB_TEMPLATE,
    });
    expect(registry.get("ferry:managed").provider).toBeUndefined();
  });

  it("registers a provider under its type", () => {
    const registry = new PoolTypeRegistry();
    const provider = fakeProvider("ecs:push");
    registry.registerProvider(provider, "@ferry/provider-aws");
    const entry = registry.get("ecs:push");
    expect(entry).toMatchObject({
      type: "ecs:push",
      description: "ecs:push for tests",
      managed: false,
      credentialsType: "aws",
      defaultBaseJobTemplate: provider.defaultBaseJobTemplate,
    });
    expect(entry.provider).toBe(provider);
    expect(entry.provisioner).toBeUndefined();
  });

  it("marks a provider of a :managed type as managed", () => {
    const registry = new PoolTypeRegistry();
    registry.registerProvider(fakeProvider("k8s:managed"));
    expect(registry.get("k8s:managed").managed).toBe(true);
  });

  it("lists types sorted by name", () => {
    const registry = new PoolTypeRegistry();
    registry.registerProvider(fakeProvider("modal:push"));
    registry.registerProvider(fakeProvider("cloud-run:push"));
    registry.registerProvider(fakeProvider("ecs:push"));
    expect(registry.names()).toEqual(["cloud-run:push", "ecs:push", "ferry:managed", "modal:push"]);
    expect(registry.list().map((t) => t.type)).toEqual(registry.names());
  });

  it("refuses a type registered twice, naming the plugin to remove", () => {
    const registry = new PoolTypeRegistry();
    registry.registerProvider(fakeProvider("ecs:push"), "@ferry/provider-aws");
    const error = thrown(() => registry.registerProvider(fakeProvider("ecs:push"), "@acme/ecs"));
    expect(error.code).toBe("conflict");
    expect(error.message).toBe("pool type 'ecs:push' is registered twice (plugin @acme/ecs); remove one of the plugins");
  });

  it("refuses a provider that takes over the managed type", () => {
    const registry = new PoolTypeRegistry();
    const error = thrown(() => registry.registerProvider(fakeProvider("ferry:managed"), "@acme/managed"));
    expect(error.code).toBe("conflict");
    expect(error.message).toBe("pool type 'ferry:managed' is registered twice (plugin @acme/managed); remove one of the plugins");
    expect(registry.get("ferry:managed").provider).toBeUndefined();
  });

  it("checks a provider before registering it, naming the plugin (the type by default)", () => {
    const registry = new PoolTypeRegistry();
    expect(thrown(() => registry.registerProvider(fakeProvider("ecs"))).message).toBe("plugin ecs: provider type 'ecs' must look like 'name:push'");
    expect(thrown(() => registry.registerProvider(fakeProvider("ecs:push", { cancel: undefined as never }), "@ferry/provider-aws")).message).toBe(
      "plugin @ferry/provider-aws: provider ecs:push has no cancel()",
    );
    expect(registry.has("ecs:push")).toBe(false);
  });

  it("refuses an unknown type, listing the ones this server has", () => {
    const registry = new PoolTypeRegistry();
    registry.registerProvider(fakeProvider("ecs:push"));
    const error = thrown(() => registry.get("ecs"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("work pool type 'ecs' is not available on this server; use one of ecs:push, ferry:managed");
    expect(registry.has("ecs")).toBe(false);
  });

  it("attaches a provisioner to its provider's type", () => {
    const registry = new PoolTypeRegistry();
    registry.registerProvider(fakeProvider("ecs:push"));
    const provisioner = fakeProvisioner("ecs:push");
    registry.registerProvisioner(provisioner);
    expect(registry.get("ecs:push").provisioner).toBe(provisioner);
  });

  it("refuses a provisioner without a provider of its type", () => {
    const registry = new PoolTypeRegistry();
    const error = thrown(() => registry.registerProvisioner(fakeProvisioner("ecs:push")));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("provisioner for 'ecs:push' has no provider of that type registered");
    expect(registry.has("ecs:push")).toBe(false);
  });

  it("keeps registries apart", () => {
    const a = new PoolTypeRegistry();
    a.registerProvider(fakeProvider("ecs:push"));
    expect(new PoolTypeRegistry().has("ecs:push")).toBe(false);
  });
});
