import { assertValidProvisioner, PoolTypeRegistry, validateCredentialData } from "@ferry/core";
import { describe, expect, it } from "vitest";
import plugin from "./index.js";
import clientPlugin from "./client.js";
import { ModalProvider } from "./modal-provider.js";
import { parseModalPluginOptions } from "./options.js";

describe("the server plugin (@ferry/provider-modal)", () => {
  it("makes a modal:push provider and the modal credentials type, which the registry accepts", () => {
    expect(plugin.name).toBe("@ferry/provider-modal");
    const made = plugin.create({});
    expect(made.providers).toHaveLength(1);
    expect(made.providers?.[0]).toBeInstanceOf(ModalProvider);
    const registry = new PoolTypeRegistry();
    registry.registerPlugin(plugin.name, made);
    expect(registry.get("modal:push")).toMatchObject({ credentialsType: "modal", plugin: "@ferry/provider-modal" });
    const modal = registry.credentialTypes.get("modal");
    expect(validateCredentialData(modal, { token_id: "ak-1", token_secret: "as-1" })).toBeDefined();
    expect(() => validateCredentialData(modal, { token_id: "ak-1" })).toThrow(/token_secret/);
    expect(Object.entries(modal.schema.properties).filter(([, p]) => p["x-ferry-secret"]).map(([k]) => k)).toEqual(["token_secret"]);
  });

  it("takes its options, refusing unknown ones by name", () => {
    expect(parseModalPluginOptions({ attempts: 2, server_url: "http://127.0.0.1:50051" })).toEqual({ attempts: 2, server_url: "http://127.0.0.1:50051" });
    expect(() => parseModalPluginOptions({ server_url: "127.0.0.1:50051" })).toThrow(/server_url/);
    expect(parseModalPluginOptions(undefined)).toEqual({});
    expect(() => parseModalPluginOptions({ atempts: 2 })).toThrow(/options of @ferry\/provider-modal are invalid/);
    expect(() => clientPlugin.create({ atempts: 2 })).toThrow(/options of @ferry\/provider-modal are invalid/);
  });
});

describe("the client plugin (@ferry/provider-modal/client)", () => {
  it("makes the modal:push provisioner, valid before the SDK is loaded", () => {
    expect(clientPlugin.name).toBe("@ferry/provider-modal");
    const made = clientPlugin.create({});
    expect(made.provisioners?.map((p) => p.type)).toEqual(["modal:push"]);
    expect(() => assertValidProvisioner(made.provisioners![0]!, clientPlugin.name)).not.toThrow();
    expect(Object.keys(made.provisioners![0]!.optionsSchema.properties)).toEqual(["modal_profile", "environment", "app_name"]);
  });

  it("checks provisioning options before anything is touched", async () => {
    const [provisioner] = clientPlugin.create({}).provisioners ?? [];
    await expect(provisioner!.plan({ poolName: "p", options: { app_nme: "x" }, hasCredentials: false })).rejects.toMatchObject({
      code: "validation_failed",
      message: expect.stringContaining("app_nme is not a provisioning option of modal:push"),
    });
  });
});
