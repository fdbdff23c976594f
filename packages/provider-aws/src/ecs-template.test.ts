import { validateBaseJobTemplate, validateJobVariables } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { ECS_BASE_JOB_TEMPLATE, defaultEcsJobConfiguration as renderedConfig, parseEcsJobConfiguration } from "./ecs-template.js";

describe("ECS_BASE_JOB_TEMPLATE", () => {
  it("is a valid template", () => {
    expect(() => validateBaseJobTemplate(ECS_BASE_JOB_TEMPLATE)).not.toThrow();
  });

  it("renders the documented defaults", () => {
    expect(renderedConfig()).toEqual({
      image: "ferry-engine:latest",
      cpu: 1024,
      memory: 2048,
      env: {},
      command: null,
      region: null,
      cluster: null,
      launch_type: "FARGATE",
      capacity_provider_strategy: [],
      vpc_id: null,
      subnets: [],
      security_groups: [],
      assign_public_ip: "ENABLED",
      task_role_arn: null,
      execution_role_arn: null,
      family: null,
      container_name: "ferry",
      cpu_architecture: "X86_64",
      configure_cloudwatch_logs: false,
      cloudwatch_logs_options: {},
      auto_deregister_task_definition: false,
      pip_packages: [],
      npm_packages: [],
    });
  });

  it("has no credentials or endpoint variable", () => {
    const names = Object.keys(ECS_BASE_JOB_TEMPLATE.variables.properties);
    expect(names).not.toContain("aws_credentials");
    expect(names).not.toContain("endpoint_url");
  });

  it("refuses an unknown launch type and a typo'd variable", () => {
    expect(() => validateJobVariables(ECS_BASE_JOB_TEMPLATE, { launch_type: "LAMBDA" })).toThrow(/launch_type/);
    expect(() => validateJobVariables(ECS_BASE_JOB_TEMPLATE, { clustr: "x" })).toThrow(/clustr/);
  });
});

describe("parseEcsJobConfiguration", () => {
  it("fills what an edited template left out and ignores extra keys", () => {
    const config = parseEcsJobConfiguration({ image: "x:1", something_else: true });
    expect(config.image).toBe("x:1");
    expect(config.cpu).toBe(1024);
    expect(config.container_name).toBe("ferry");
  });

  it("refuses a configuration of the wrong shape", () => {
    expect(() => parseEcsJobConfiguration({ cpu: "lots" })).toThrow(/cpu/);
  });
});
