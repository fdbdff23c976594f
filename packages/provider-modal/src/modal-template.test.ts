import { validateBaseJobTemplate, validateJobVariables } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { MODAL_BASE_JOB_TEMPLATE, defaultModalJobConfiguration, parseModalJobConfiguration } from "./modal-template.js";

describe("MODAL_BASE_JOB_TEMPLATE", () => {
  it("is a valid template", () => {
    expect(() => validateBaseJobTemplate(MODAL_BASE_JOB_TEMPLATE)).not.toThrow();
  });

  it("renders the documented defaults: app ferry, the engine image and command, a one-hour timeout", () => {
    expect(defaultModalJobConfiguration()).toEqual({
      environment: null,
      app_name: "ferry",
      image: "ferry-engine:latest",
      command: ["node", "/opt/ferry/engine/engine.mjs"],
      cpu: null,
      memory: null,
      timeout: 3600,
      gpu: null,
      region: null,
      env: {},
      secrets: [],
      pip_packages: [],
      npm_packages: [],
    });
  });

  it("takes a run's variables", () => {
    const config = defaultModalJobConfiguration({ cpu: 0.5, memory: 1024, timeout: 60, gpu: "T4", region: "us-east", secrets: ["db"], env: { A: "1" }, pip_packages: ["requests"] });
    expect(config).toMatchObject({ cpu: 0.5, memory: 1024, timeout: 60, gpu: "T4", region: "us-east", secrets: ["db"], env: { A: "1" }, pip_packages: ["requests"] });
  });

  it("refuses variables Modal would refuse, naming them", () => {
    for (const [variables, name] of [
      [{ timeout: 5 }, "timeout"],
      [{ app_name: "no spaces" }, "app_name"],
      [{ memory: 64 }, "memory"],
      [{ cpu: 0 }, "cpu"],
    ] as const) {
      expect(() => validateJobVariables(MODAL_BASE_JOB_TEMPLATE, variables), name).toThrow(name);
    }
  });

  it("fills what an edited template left out, and ignores extra keys", () => {
    expect(parseModalJobConfiguration({ image: "x:1", extra: true })).toMatchObject({ image: "x:1", app_name: "ferry", timeout: 3600 });
  });

  it("has no token variable: the token is the pool's credentials", () => {
    const names = Object.keys(MODAL_BASE_JOB_TEMPLATE.variables.properties);
    expect(names.filter((n) => /token|credential/.test(n))).toEqual([]);
  });
});
