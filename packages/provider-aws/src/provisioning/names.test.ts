import { assertValidProvisioner, parseProvisionOptions } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_NAMES, ECS_PROVISION_OPTIONS, resolveNames } from "./names.js";

const provisioner = { type: "ecs:push", optionsSchema: ECS_PROVISION_OPTIONS };

describe("the provisioning options", () => {
  it("are a valid options schema: snake_case strings with descriptions", () => {
    const noop = async () => {
      throw new Error("not called");
    };
    expect(() => assertValidProvisioner({ ...provisioner, plan: noop, apply: noop, planRemoval: noop, remove: noop }, "@ferry/provider-aws")).not.toThrow();
  });

  it("take the region and every name", () => {
    const options = { region: "eu-west-1", cluster_name: "prod", repository_name: "team/flows", task_role_arn: "arn:aws:iam::123456789012:role/app" };
    expect(parseProvisionOptions(provisioner, options)).toEqual(options);
    expect(parseProvisionOptions(provisioner, { region: "us-gov-west-1" })).toEqual({ region: "us-gov-west-1" });
  });

  it("refuse unknown keys and names AWS would refuse, all at once, before anything is touched", () => {
    expect(() => parseProvisionOptions(provisioner, { clustr_name: "x", cluster_name: "has space", repository_name: "Upper", region: "Mars" })).toThrow(
      /clustr_name is not a provisioning option of ecs:push.*cluster_name 'has space' is not valid: ECS cluster: 1-255 letters.*repository_name 'Upper' is not valid.*region 'Mars' is not valid/,
    );
  });
});

describe("resolveNames", () => {
  it("defaults every name", () => {
    expect(resolveNames({})).toEqual(DEFAULT_NAMES);
  });

  it("takes overrides by their option key", () => {
    expect(resolveNames({ cluster_name: "prod", repository_name: "team/flows", region: "eu-west-1" })).toMatchObject({ cluster: "prod", repository: "team/flows", user: "ferry-ecs-user" });
  });
});
