import { validateBaseJobTemplate, validateJobVariables } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { ACI_BASE_JOB_TEMPLATE, defaultAciJobConfiguration as renderedConfig, parseAciJobConfiguration } from "./aci-template.js";

describe("ACI_BASE_JOB_TEMPLATE", () => {
  it("is a valid template", () => {
    expect(() => validateBaseJobTemplate(ACI_BASE_JOB_TEMPLATE)).not.toThrow();
  });

  it("renders the documented defaults", () => {
    expect(renderedConfig()).toEqual({
      image: "ferry-engine:latest",
      command: null,
      resource_group_name: null,
      subscription_id: null,
      location: "eastus",
      cpu: 1,
      memory: 1,
      gpu_count: null,
      gpu_sku: null,
      identities: [],
      image_registry: null,
      subnet_ids: [],
      dns_servers: [],
      env: {},
      keep_container_group: false,
      pip_packages: [],
      npm_packages: [],
    });
  });

  it("takes fractional cpu and memory, a registry with an identity, and GPUs", () => {
    const config = renderedConfig({
      cpu: 0.5,
      memory: 1.5,
      gpu_count: 1,
      gpu_sku: "V100",
      identities: ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"],
      image_registry: { login_server: "ferry.azurecr.io", identity: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id" },
    });
    expect(config).toMatchObject({ cpu: 0.5, memory: 1.5, gpu_count: 1, gpu_sku: "V100", image_registry: { login_server: "ferry.azurecr.io" } });
  });

  it("refuses what ACI cannot run, naming the variable", () => {
    expect(() => validateJobVariables(ACI_BASE_JOB_TEMPLATE, { cpu: 0 })).toThrow(/cpu/);
    expect(() => validateJobVariables(ACI_BASE_JOB_TEMPLATE, { gpu_sku: "H100" })).toThrow(/gpu_sku/);
    expect(() => validateJobVariables(ACI_BASE_JOB_TEMPLATE, { image_registry: { identity: "x" } })).toThrow(/login_server/);
    expect(() => validateJobVariables(ACI_BASE_JOB_TEMPLATE, { subnet_ids: ["a", "b"] })).toThrow(/subnet_ids/);
  });

  it("has no credentials or endpoint variable: those are the pool's credentials and the server's options", () => {
    const names = Object.keys(ACI_BASE_JOB_TEMPLATE.variables.properties);
    expect(names).not.toContain("aci_credentials");
    expect(names).not.toContain("endpoint");
  });

  it("fills in defaults for keys an edited template dropped, and ignores extra keys", () => {
    expect(parseAciJobConfiguration({ image: "x", extra: 1 })).toMatchObject({ image: "x", location: "eastus", keep_container_group: false });
  });
});
