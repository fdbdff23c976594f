import { describe, expect, it } from "vitest";
import { isAllowed, roleAllows, roleById, scopeCovers } from "./authorization.js";

const SUB = "/subscriptions/s1";
const RG = `${SUB}/resourceGroups/pool-rg`;
const grant = (role: string, scope: string, principalId = "p1") => ({ principalId, roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${roleById(role)?.name ?? role}`, scope });
const byName = (roleName: string): string => ({ Owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c", AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d" })[roleName]!;

describe("scopeCovers", () => {
  it("covers the scope itself and what is under it, by whole segments, case-insensitively", () => {
    expect(scopeCovers(RG, `${RG}/providers/Microsoft.ContainerInstance/containerGroups/g`)).toBe(true);
    expect(scopeCovers(RG, RG.toUpperCase())).toBe(true);
    expect(scopeCovers(RG, `${SUB}/resourceGroups/pool-rg-2`)).toBe(false);
    expect(scopeCovers(RG, SUB)).toBe(false);
    expect(scopeCovers("/", RG)).toBe(true);
  });
});

describe("roles", () => {
  it("Contributor may do anything but write or delete role assignments", () => {
    const contributor = roleById(byName("Contributor"))!;
    expect(roleAllows(contributor, "Microsoft.ContainerInstance/containerGroups/write")).toBe(true);
    expect(roleAllows(contributor, "Microsoft.Authorization/roleAssignments/read")).toBe(true);
    expect(roleAllows(contributor, "Microsoft.Authorization/roleAssignments/write")).toBe(false);
    expect(roleAllows(contributor, "microsoft.authorization/roleassignments/delete")).toBe(false);
  });

  it("AcrPull allows only pulling", () => {
    const acrPull = roleById(byName("AcrPull"))!;
    expect(roleAllows(acrPull, "Microsoft.ContainerRegistry/registries/pull/read")).toBe(true);
    expect(roleAllows(acrPull, "Microsoft.ContainerRegistry/registries/push/write")).toBe(false);
    expect(roleAllows(acrPull, "Microsoft.ContainerRegistry/registries/read")).toBe(false);
  });

  it("finds a role by its full id or its GUID, and not an unknown one", () => {
    expect(roleById(`${SUB}/providers/Microsoft.Authorization/roleDefinitions/${byName("Owner")}`)?.roleName).toBe("Owner");
    expect(roleById(byName("Owner").toUpperCase())?.roleName).toBe("Owner");
    expect(roleById("00000000-0000-0000-0000-000000000000")).toBeUndefined();
  });
});

describe("isAllowed", () => {
  const grants = [grant(byName("Contributor"), RG), grant(byName("Owner"), SUB, "owner")];

  it("honours the principal, the role and the scope", () => {
    expect(isAllowed(grants, "p1", "Microsoft.ContainerInstance/containerGroups/write", `${RG}/providers/Microsoft.ContainerInstance/containerGroups/g`)).toBe(true);
    expect(isAllowed(grants, "p1", "Microsoft.ContainerInstance/containerGroups/write", `${SUB}/resourceGroups/other/providers/Microsoft.ContainerInstance/containerGroups/g`)).toBe(false);
    expect(isAllowed(grants, "p1", "Microsoft.Authorization/roleAssignments/write", RG)).toBe(false);
    expect(isAllowed(grants, "p2", "Microsoft.ContainerInstance/containerGroups/read", RG)).toBe(false);
    expect(isAllowed(grants, "owner", "Microsoft.Authorization/roleAssignments/write", RG)).toBe(true);
  });

  it("ignores an assignment of a role that does not exist", () => {
    expect(isAllowed([grant("not-a-role", SUB)], "p1", "Microsoft.Resources/subscriptions/read", SUB)).toBe(false);
  });
});
