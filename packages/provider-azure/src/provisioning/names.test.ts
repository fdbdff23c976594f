import { describe, expect, it } from "vitest";
import { appNameFor, registryNameFor, resolveNames, roleAssignmentName } from "./names.js";
import { jobVariableDefaults, planSteps, type ObservedState } from "./plan.js";

const SUB = "00000000-0000-4000-8000-000000000001";

describe("provisioning names", () => {
  it("derive a valid, stable registry name per subscription", () => {
    expect(registryNameFor(SUB)).toMatch(/^ferry[0-9a-f]{12}$/);
    expect(registryNameFor(SUB)).toBe(registryNameFor(SUB.toUpperCase()));
    expect(registryNameFor(SUB)).not.toBe(registryNameFor("00000000-0000-4000-8000-000000000002"));
  });

  it("name role assignments by scope, role and principal, as GUIDs", () => {
    const a = roleAssignmentName("/subscriptions/s/resourceGroups/rg", "/roles/contrib", "p1");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(roleAssignmentName("/subscriptions/s/resourceGroups/RG", "/roles/contrib", "p1")).toBe(a);
    expect(roleAssignmentName("/subscriptions/s/resourceGroups/rg", "/roles/contrib", "p2")).not.toBe(a);
  });

  it("take the options over the defaults", () => {
    expect(resolveNames({}, SUB, "aci")).toEqual({ subscriptionId: SUB, location: "eastus", resourceGroup: "ferry-aci-push-pool-rg", identity: "ferry-acr-identity", registry: registryNameFor(SUB), app: appNameFor("aci") });
    expect(resolveNames({ location: "westeurope", registry_name: "mine12345" }, SUB, "aci")).toMatchObject({ location: "westeurope", registry: "mine12345" });
  });
});

describe("planSteps", () => {
  const empty: ObservedState = { names: resolveNames({}, SUB, "aci"), resourceGroup: null, app: null, servicePrincipal: null, contributor: null, registry: null, identity: null, acrPull: null };

  it("creates everything on an empty subscription, the secret only for a pool without credentials", () => {
    expect(planSteps(empty, { hasCredentials: false }).map((s) => `${s.id}:${s.action}`)).toEqual([
      "resource_group:create",
      "app_registration:create",
      "service_principal:create",
      "contributor_role:create",
      "client_secret:create",
      "registry:create",
      "identity:create",
      "acr_pull:create",
    ]);
    expect(planSteps(empty, { hasCredentials: true }).find((s) => s.id === "client_secret")).toMatchObject({ action: "exists", detail: /no new secret/ });
  });

  it("reuses a found registry and wires it with the identity into the template", () => {
    const state: ObservedState = {
      ...empty,
      registry: { id: "/r", name: "ferryabc", loginServer: "ferryabc.azurecr.io" },
      identity: { id: "/subscriptions/s/id", name: "ferry-acr-identity", principalId: "p" },
    };
    expect(planSteps(state, { hasCredentials: true }).find((s) => s.id === "registry")).toMatchObject({ action: "exists", detail: "reused: ferryabc.azurecr.io" });
    expect(jobVariableDefaults(state)).toEqual({
      subscription_id: SUB,
      resource_group_name: "ferry-aci-push-pool-rg",
      location: "eastus",
      identities: ["/subscriptions/s/id"],
      image_registry: { login_server: "ferryabc.azurecr.io", identity: "/subscriptions/s/id" },
    });
  });
});
