import { describe, expect, it } from "vitest";
import type { AnyRoute } from "@tanstack/react-router";
import { routeTree } from "../src/router.js";

function allPaths(route: AnyRoute): string[] {
  const children = (route.children ?? []) as AnyRoute[];
  return children.flatMap((child) => [child.fullPath as string, ...allPaths(child)]);
}

// Links from the CLI, the GitHub Action and the VS Code extension point at these paths.
describe("route tree", () => {
  it("has the pages other tools link to", () => {
    expect(allPaths(routeTree)).toEqual(expect.arrayContaining(["/runs/$id", "/runs", "/deployments/$id", "/work-pools/$name", "/sign-in"]));
  });

  it("keeps /sign-in outside the signed-in shell, every other page inside it", () => {
    const top = (routeTree.children ?? []) as AnyRoute[];
    expect(top.map((r) => r.id)).toEqual(expect.arrayContaining(["/sign-in", "/app"]));
    const app = top.find((r) => r.id === "/app")!;
    expect(allPaths(app)).not.toContain("/sign-in");
    expect(allPaths(app)).toEqual(expect.arrayContaining(["/quota", "/api-keys", "/credentials", "/work-pools"]));
  });
});
