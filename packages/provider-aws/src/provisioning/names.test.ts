import { describe, expect, it } from "vitest";
import { DEFAULT_NAMES, resolveNames } from "./names.js";

describe("resolveNames", () => {
  it("defaults every name", () => {
    expect(resolveNames({})).toEqual(DEFAULT_NAMES);
  });

  it("takes overrides by their option key", () => {
    expect(resolveNames({ cluster_name: "prod", repository_name: "team/flows" })).toMatchObject({ cluster: "prod", repository: "team/flows", user: "ferry-ecs-user" });
  });

  it("refuses unknown keys and names AWS would refuse, all at once", () => {
    expect(() => resolveNames({ clustr_name: "x", cluster_name: "has space", repository_name: "Upper" })).toThrow(
      /clustr_name is not a provisioning option.*cluster_name 'has space' is not a valid name.*repository_name 'Upper'/,
    );
  });
});
