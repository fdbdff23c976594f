import { describe, expect, it } from "vitest";
import { planSteps } from "./modal-provisioner.js";

describe("planSteps", () => {
  it("on an empty account: store the token, make the app", () => {
    expect(planSteps({ appId: null }, { hasCredentials: false, options: {} }).map((s) => [s.id, s.name, s.action])).toEqual([
      ["token", "pool credentials", "create"],
      ["app", "ferry", "create"],
    ]);
  });

  it("keeps the pool's credentials and an existing app", () => {
    expect(planSteps({ appId: "ap-1" }, { hasCredentials: true, options: { app_name: "mine" } }).map((s) => [s.id, s.name, s.action])).toEqual([
      ["token", "pool credentials", "exists"],
      ["app", "mine", "exists"],
    ]);
  });
});
