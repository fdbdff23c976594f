import { assertValidProvisioner, PoolTypeRegistry, validateCredentialData } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { AciProvider } from "./aci-provider.js";
import clientPlugin from "./client.js";
import plugin from "./index.js";
import { parseAzurePluginOptions } from "./options.js";
import { isAcrRegistry } from "./registry-login.js";

describe("the server plugin (@ferry/provider-azure)", () => {
  it("makes an azure-container-instance:push provider and the azure credentials type, which the registry accepts", () => {
    expect(plugin.name).toBe("@ferry/provider-azure");
    const made = plugin.create({});
    expect(made.providers?.[0]).toBeInstanceOf(AciProvider);
    const registry = new PoolTypeRegistry();
    registry.registerPlugin(plugin.name, made);
    expect(registry.get("azure-container-instance:push")).toMatchObject({ credentialsType: "azure", plugin: "@ferry/provider-azure" });
    const azure = registry.credentialTypes.get("azure");
    expect(validateCredentialData(azure, { tenant_id: "t", client_id: "c", client_secret: "s", subscription_id: "x" })).toBeDefined();
    expect(() => validateCredentialData(azure, { tenant_id: "t", client_id: "c" })).toThrow(/client_secret/);
    expect(Object.entries(azure.schema.properties).filter(([, p]) => p["x-ferry-secret"]).map(([k]) => k)).toEqual(["client_secret"]);
  });

  it("takes https endpoints and a CA, and refuses anything else naming the field", () => {
    const caPem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
    expect(parseAzurePluginOptions({ endpoint: "https://127.0.0.1:8443", authorityHost: "https://127.0.0.1:8443", graphEndpoint: "https://127.0.0.1:8443", caPem })).toMatchObject({ caPem });
    expect(parseAzurePluginOptions(undefined)).toEqual({});
    expect(() => parseAzurePluginOptions({ endpoint: "http://127.0.0.1:1" })).toThrow(/options of @ferry\/provider-azure are invalid: \/endpoint/);
    expect(() => clientPlugin.create({ endpont: "https://x" })).toThrow(/options of @ferry\/provider-azure are invalid/);
  });
});

describe("the client plugin (@ferry/provider-azure/client)", () => {
  it("makes the provisioner, valid before the SDK is loaded, and the ACR login", () => {
    const made = clientPlugin.create({});
    expect(made.provisioners?.map((p) => p.type)).toEqual(["azure-container-instance:push"]);
    expect(() => assertValidProvisioner(made.provisioners![0]!, clientPlugin.name)).not.toThrow();
    expect(Object.keys(made.provisioners![0]!.optionsSchema.properties)).toEqual(["subscription_id", "tenant_id", "location", "resource_group_name", "identity_name", "registry_name"]);
    const [login] = made.registryLogins ?? [];
    expect(login?.description).toBe("Azure Container Registry");
    expect(isAcrRegistry("ferry0123456789ab.azurecr.io")).toBe(true);
    expect(login?.matches("127.0.0.1:5000")).toBe(false);
  });

  it("checks provisioning options before anything is touched", async () => {
    const [provisioner] = clientPlugin.create({ endpoint: "https://127.0.0.1:1" }).provisioners ?? [];
    await expect(provisioner!.plan({ poolName: "p", options: { locaton: "x" }, hasCredentials: false })).rejects.toMatchObject({ code: "validation_failed", message: expect.stringContaining("locaton") });
    await expect(provisioner!.plan({ poolName: "p", options: { registry_name: "no-hyphens" }, hasCredentials: false })).rejects.toMatchObject({ code: "validation_failed" });
  });
});
