import { describe, expect, it } from "vitest";
import { routeTree } from "../src/router.js";

// Links from the CLI, the GitHub Action and the VS Code extension point at these paths.
describe("route tree", () => {
  it("has the pages other tools link to", () => {
    const paths: string[] = (routeTree.children ?? []).map((r) => r.fullPath);
    expect(paths).toEqual(expect.arrayContaining(["/runs/$id", "/runs", "/deployments/$id", "/work-pools/$name", "/sign-in"]));
  });
});
