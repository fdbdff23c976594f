import { describe, expect, it } from "vitest";
import { defaultAciJobConfiguration } from "./aci-template.js";
import { buildContainerGroup, containerGroupNameFor, infrastructureIdFor, parseInfrastructureId } from "./container-group.js";

const NAME_RULE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const run = {
  flowRunId: "0f8e6c1a-52a9-4d0c-9d0e-1c2b3a4d5e6f",
  deploymentId: "dep-1",
  runtimeEnv: { FERRY_API_URL: "https://ferry.example", FERRY_FLOW_RUN_ID: "0f8e6c1a-52a9-4d0c-9d0e-1c2b3a4d5e6f", FERRY_BOOTSTRAP_TOKEN: "fbt_secret" },
};
const IDENTITY = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ferry-acr-identity";

describe("containerGroupNameFor", () => {
  it("names a UUID run readably and stably", () => {
    expect(containerGroupNameFor(run.flowRunId)).toBe(`ferry-${run.flowRunId}`);
    expect(containerGroupNameFor(run.flowRunId)).toBe(containerGroupNameFor(run.flowRunId));
  });

  it.each(["Run_With_Upper", "a".repeat(200), "--", "ü", "x".repeat(57), "run--id-"])("gives %j a valid ACI name", (id) => {
    const name = containerGroupNameFor(id);
    expect(name).toMatch(NAME_RULE);
    expect(name.length).toBeLessThanOrEqual(63);
  });

  it("keeps ids apart that would slug alike", () => {
    expect(containerGroupNameFor("Run-A")).not.toBe(containerGroupNameFor("run-a_"));
    expect(containerGroupNameFor("a".repeat(100))).not.toBe(containerGroupNameFor(`${"a".repeat(99)}b`));
  });
});

describe("infrastructure ids", () => {
  it("are the group's ARM resource id, and parse back", () => {
    const id = { subscriptionId: "sub", resourceGroup: "ferry-aci-push-pool-rg", name: "ferry-x" };
    const text = infrastructureIdFor(id);
    expect(text).toBe("/subscriptions/sub/resourceGroups/ferry-aci-push-pool-rg/providers/Microsoft.ContainerInstance/containerGroups/ferry-x");
    expect(parseInfrastructureId(text)).toEqual(id);
    expect(parseInfrastructureId("does-not-exist-1")).toBeNull();
  });
});

describe("buildContainerGroup", () => {
  it("makes one Linux container that runs once, with the run's variables", () => {
    const group = buildContainerGroup(defaultAciJobConfiguration({ image: "img:1", command: ["python", "-c", "1"], env: { A: "1" }, pip_packages: ["requests"] }), run);
    expect(group).toMatchObject({ location: "eastus", osType: "Linux", restartPolicy: "Never", tags: { "ferry-flow-run-id": run.flowRunId, "ferry-deployment-id": "dep-1" } });
    expect(group.containers).toHaveLength(1);
    expect(group.containers[0]).toMatchObject({ name: "ferry", image: "img:1", command: ["python", "-c", "1"], resources: { requests: { cpu: 1, memoryInGB: 1 } } });
    expect(group.identity).toBeUndefined();
    expect(group.imageRegistryCredentials).toBeUndefined();
    expect(group.subnetIds).toBeUndefined();
  });

  it("passes the token only as a secureValue, which ARM never returns on a GET", () => {
    const env = buildContainerGroup(defaultAciJobConfiguration(), run).containers[0]!.environmentVariables!;
    expect(env).toContainEqual({ name: "FERRY_BOOTSTRAP_TOKEN", secureValue: "fbt_secret" });
    expect(env).toContainEqual({ name: "FERRY_API_URL", value: "https://ferry.example" });
    expect(env.filter((v) => v.value === "fbt_secret")).toEqual([]);
  });

  it("lets Ferry's own variables win over env", () => {
    const env = buildContainerGroup(defaultAciJobConfiguration({ env: { FERRY_BOOTSTRAP_TOKEN: "mine", OTHER: "x" } }), run).containers[0]!.environmentVariables!;
    expect(env.filter((v) => v.name === "FERRY_BOOTSTRAP_TOKEN")).toEqual([{ name: "FERRY_BOOTSTRAP_TOKEN", secureValue: "fbt_secret" }]);
    expect(env).toContainEqual({ name: "OTHER", value: "x" });
  });

  it("wires identities, the registry's identity, GPUs, subnets and DNS", () => {
    const group = buildContainerGroup(
      defaultAciJobConfiguration({
        identities: [IDENTITY],
        image_registry: { login_server: "ferry.azurecr.io", identity: IDENTITY },
        gpu_count: 1,
        gpu_sku: "K80",
        subnet_ids: ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"],
        dns_servers: ["10.0.0.4"],
      }),
      run,
    );
    expect(group.identity).toEqual({ type: "UserAssigned", userAssignedIdentities: { [IDENTITY]: {} } });
    expect(group.imageRegistryCredentials).toEqual([{ server: "ferry.azurecr.io", identity: IDENTITY }]);
    expect(group.containers[0]!.resources.requests.gpu).toEqual({ count: 1, sku: "K80" });
    expect(group.subnetIds).toEqual([{ id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/aci" }]);
    expect(group.dnsConfig).toEqual({ nameServers: ["10.0.0.4"] });
  });

  it("takes a registry login with a username and password", () => {
    const group = buildContainerGroup(defaultAciJobConfiguration({ image_registry: { login_server: "r.example", username: "u", password: "p" } }), run);
    expect(group.imageRegistryCredentials).toEqual([{ server: "r.example", username: "u", password: "p" }]);
  });

  it("refuses settings ACI would refuse, naming the fix", () => {
    expect(() => buildContainerGroup(defaultAciJobConfiguration({ gpu_count: 1 }), run)).toThrow(/gpu_count and gpu_sku go together/);
    expect(() => buildContainerGroup(defaultAciJobConfiguration({ dns_servers: ["1.1.1.1"] }), run)).toThrow(/set subnet_ids/);
    expect(() => buildContainerGroup(defaultAciJobConfiguration({ image_registry: { login_server: "r", identity: IDENTITY } }), run)).toThrow(/identities job variable/);
    expect(() => buildContainerGroup(defaultAciJobConfiguration({ image_registry: { login_server: "r" } }), run)).toThrow(/identity, or a username and a password/);
  });
});
