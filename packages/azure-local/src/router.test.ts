import { describe, expect, it } from "vitest";
import { ArmError } from "./arm-error.js";
import { Router, type Route } from "./router.js";

const route = (method: string, template: string, operation: string): Route => ({ method, template, operation, handle: () => ({ status: 200 }) });

describe("Router", () => {
  const router = new Router().add(
    route("GET", "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", "ResourceGroups_Get"),
    route("PUT", "{scope*}/providers/Microsoft.Authorization/roleAssignments/{name}", "RoleAssignments_Create"),
    route("GET", "/v1.0/applications(appId='{appId}')", "Applications_GetByAppId"),
  );

  it("matches case-insensitively and decodes parameters", () => {
    expect(router.match("GET", "/SUBSCRIPTIONS/s1/resourcegroups/my%20rg")).toMatchObject({ route: { operation: "ResourceGroups_Get" }, params: { subscriptionId: "s1", resourceGroupName: "my rg" } });
    expect(router.match("GET", "/subscriptions/s1/resourceGroups/rg/")).toMatchObject({ params: { resourceGroupName: "rg" } });
  });

  it("takes several segments for {name*}, up to the fixed part that follows", () => {
    const scope = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r1";
    expect(router.match("PUT", `${scope}/providers/Microsoft.Authorization/roleAssignments/a1`).params).toEqual({ scope, name: "a1" });
  });

  it("takes a parameter inside a segment", () => {
    expect(router.match("GET", "/v1.0/applications(appId='abc')").params).toEqual({ appId: "abc" });
  });

  it("answers 405 for a known path with another method, 404 for an unknown path", () => {
    expect(() => router.match("DELETE", "/subscriptions/s1/resourceGroups/rg")).toThrow(ArmError);
    expect(() => router.match("DELETE", "/subscriptions/s1/resourceGroups/rg")).toThrow(expect.objectContaining({ status: 405, code: "MethodNotAllowed" }));
    expect(() => router.match("GET", "/nothing/here")).toThrow(/does not serve GET \/nothing\/here/);
  });
});
