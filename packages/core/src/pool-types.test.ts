import { describe, expect, it } from "vitest";
import { isFerryError, type FerryError } from "./errors.js";
import { renderJobConfiguration, resolveJobVariables, templateDefaults, validateBaseJobTemplate } from "./job-template.js";
import { DEFAULT_ENGINE_IMAGE, MANAGED_BASE_JOB_TEMPLATE, MANAGED_POOL_TYPE, PoolTypeRegistry } from "./pool-types.js";
import { plainField, secretField, type CredentialType } from "./credentials.js";
import type { ComputeProvider } from "./provider.js";

const KEYPAIR: CredentialType = {
  type: "keypair",
  description: "A key pair, for tests",
  schema: { type: "object", additionalProperties: false, required: ["key_id"], properties: { key_id: plainField("id"), key_secret: secretField("secret") } },
};

/** A registry with the credentials type the test providers need. */
function registryWithKeypair(): PoolTypeRegistry {
  const registry = new PoolTypeRegistry();
  registry.credentialTypes.register(KEYPAIR, "@acme/provider");
  return registry;
}

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(isFerryError(error)).toBe(true);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

function fakeProvider(type: string, extra: Partial<ComputeProvider> = {}): ComputeProvider {
  return {
    type,
    description: `${type} for tests`,
    credentialsType: "keypair",
    defaultBaseJobTemplate: { variables: { type: "object", properties: { cpu: { type: "integer", default: 256 } } }, job_configuration: { cpu: "{{ cpu }}" } },
    submit: async () => ({ infrastructureId: "i-1" }),
    status: async () => ({ phase: "running" }),
    cancel: async () => {},
    ...extra,
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
      plugin: null,
    });
    expect(registry.get("ferry:managed").provider).toBeUndefined();
  });

  it("registers a provider under its type", () => {
    const registry = registryWithKeypair();
    const provider = fakeProvider("acme:push");
    registry.registerProvider(provider, "@acme/provider");
    const entry = registry.get("acme:push");
    expect(entry).toMatchObject({
      type: "acme:push",
      description: "acme:push for tests",
      managed: false,
      credentialsType: "keypair",
      defaultBaseJobTemplate: provider.defaultBaseJobTemplate,
    });
    expect(entry.provider).toBe(provider);
    expect(entry.plugin).toBe("@acme/provider");
  });

  it("marks a provider of a :managed type as managed", () => {
    const registry = registryWithKeypair();
    registry.registerProvider(fakeProvider("k8s:managed"));
    expect(registry.get("k8s:managed").managed).toBe(true);
  });

  it("lists types sorted by name", () => {
    const registry = registryWithKeypair();
    registry.registerProvider(fakeProvider("zeta:push"));
    registry.registerProvider(fakeProvider("beta:push"));
    registry.registerProvider(fakeProvider("acme:push"));
    expect(registry.names()).toEqual(["acme:push", "beta:push", "ferry:managed", "zeta:push"]);
    expect(registry.list().map((t) => t.type)).toEqual(registry.names());
  });

  it("refuses a type registered twice, naming the plugin to remove", () => {
    const registry = registryWithKeypair();
    registry.registerProvider(fakeProvider("acme:push"), "@acme/provider");
    const error = thrown(() => registry.registerProvider(fakeProvider("acme:push"), "@other/acme"));
    expect(error.code).toBe("conflict");
    expect(error.message).toBe("pool type 'acme:push' is registered twice (plugin @other/acme); remove one of the plugins");
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
    expect(thrown(() => registry.registerProvider(fakeProvider("acme"))).message).toBe("plugin acme: provider type 'acme' must look like 'name:push'");
    expect(thrown(() => registry.registerProvider(fakeProvider("acme:push", { cancel: undefined as never }), "@acme/provider")).message).toBe(
      "plugin @acme/provider: provider acme:push has no cancel()",
    );
    expect(registry.has("acme:push")).toBe(false);
  });

  it("refuses an unknown type, listing the ones this server has", () => {
    const registry = registryWithKeypair();
    registry.registerProvider(fakeProvider("acme:push"));
    const error = thrown(() => registry.get("acme"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("work pool type 'acme' is not available on this server; use one of acme:push, ferry:managed");
    expect(registry.has("acme")).toBe(false);
  });

  it("registers a plugin's credential types before its providers, and records the plugin", () => {
    const registry = new PoolTypeRegistry();
    registry.registerPlugin("@acme/provider", { credentialTypes: [KEYPAIR], providers: [fakeProvider("acme:push")] });
    expect(registry.get("acme:push").plugin).toBe("@acme/provider");
    expect(registry.credentialTypes.names()).toEqual(["git", "keypair"]);
    expect(registry.get("ferry:managed").plugin).toBeNull();
  });

  it("refuses a provider whose credentials type no plugin registers", () => {
    const registry = new PoolTypeRegistry();
    const error = thrown(() => registry.registerPlugin("@acme/provider", { providers: [fakeProvider("acme:push")] }));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe(
      "plugin @acme/provider: provider acme:push needs credentials of type 'keypair', which no plugin registers; return it in create()'s credentialTypes",
    );
    expect(registry.has("acme:push")).toBe(false);
  });

  it("registers a plugin's source stores by scheme, and refuses a second reader of one, an unknown credentials type or a module path", () => {
    const registry = new PoolTypeRegistry();
    registry.registerPlugin("@acme/provider", { credentialTypes: [KEYPAIR], sourceStores: [{ scheme: "s3", credentialsType: "keypair", module: "@acme/provider/source" }] });
    expect(registry.sourceStores.get("s3")).toEqual({ scheme: "s3", credentialsType: "keypair", module: "@acme/provider/source", plugin: "@acme/provider" });
    expect(thrown(() => registry.registerSourceStore({ scheme: "s3", credentialsType: "keypair", module: "other/source" }, "other")).code).toBe("conflict");
    expect(thrown(() => registry.registerSourceStore({ scheme: "gs", credentialsType: "nope", module: "x/source" }, "x")).message).toMatch(/credentials of type 'nope'/);
    expect(thrown(() => registry.registerSourceStore({ scheme: "gs", credentialsType: "keypair", module: "../evil.js" }, "x")).message).toMatch(/bare package specifier/);
  });

  it("keeps registries apart", () => {
    const a = registryWithKeypair();
    a.registerProvider(fakeProvider("acme:push"));
    expect(new PoolTypeRegistry().has("acme:push")).toBe(false);
  });
});
