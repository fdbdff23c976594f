import { describe, expect, it } from "vitest";
import { defaultEcsJobConfiguration as renderedConfig } from "./ecs-template.js";
import {
  buildRunTaskRequest,
  buildTaskDefinition,
  clientTokenFor,
  familyFor,
  isEcrImage,
  placementOf,
  resolveNetwork,
  taskDefinitionKey,
  tagValue,
  type NetworkLookup,
} from "./task-definition.js";

const ctx = { deploymentId: "0190-dep", flowName: "etl", deploymentName: "nightly", region: "eu-west-1" };
const runCtx = {
  idempotencyKey: "ferry-0190-run",
  flowRunId: "0190-run",
  deploymentId: "0190-dep",
  runtimeEnv: { FERRY_API_URL: "https://ferry.example", FERRY_FLOW_RUN_ID: "0190-run", FERRY_RUN_TOKEN: "secret-token" },
};

describe("buildTaskDefinition", () => {
  it("builds a Fargate definition: awsvpc, task-level cpu and memory as strings, the runtime platform", () => {
    const def = buildTaskDefinition(renderedConfig({ image: "repo/img:1", command: ["python3", "-c", "print(1)"], env: { B: "2", A: "1" } }), ctx);
    expect(def).toMatchObject({
      family: expect.stringMatching(/^ferry-etl-nightly-[0-9a-f]{8}$/),
      cpu: "1024",
      memory: "2048",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
    });
    expect(def.containerDefinitions).toEqual([
      {
        name: "ferry",
        image: "repo/img:1",
        essential: true,
        command: ["python3", "-c", "print(1)"],
        environment: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
      },
    ]);
    expect(def.executionRoleArn).toBeUndefined();
    expect(tagValue(def.tags, "ferry.key")).toBe(taskDefinitionKey(def));
    expect(tagValue(def.tags, "ferry.deployment_id")).toBe("0190-dep");
  });

  it("never puts the per-run environment (and so the run token) in the definition", () => {
    const def = buildTaskDefinition(renderedConfig(), ctx);
    expect(JSON.stringify(def)).not.toContain("FERRY_RUN_TOKEN");
    expect(JSON.stringify(def)).not.toContain("FERRY_FLOW_RUN_ID");
  });

  it("leaves the image's command when command is null", () => {
    const def = buildTaskDefinition(renderedConfig(), ctx);
    expect(def.containerDefinitions?.[0]).not.toHaveProperty("command");
  });

  it("passes packages to the engine as JSON variables", () => {
    const def = buildTaskDefinition(renderedConfig({ pip_packages: ["pandas==2.2"], npm_packages: ["zod"] }), ctx);
    expect(def.containerDefinitions?.[0]?.environment).toEqual([
      { name: "FERRY_NPM_PACKAGES", value: '["zod"]' },
      { name: "FERRY_PIP_PACKAGES", value: '["pandas==2.2"]' },
    ]);
  });

  it("uses roles, ARM64 and the given family", () => {
    const def = buildTaskDefinition(
      renderedConfig({ family: "mine", task_role_arn: "arn:task", execution_role_arn: "arn:exec", cpu_architecture: "ARM64", cpu: 512, memory: 1024 }),
      ctx,
    );
    expect(def).toMatchObject({ family: "mine", taskRoleArn: "arn:task", executionRoleArn: "arn:exec", cpu: "512", memory: "1024" });
    expect(def.runtimePlatform?.cpuArchitecture).toBe("ARM64");
  });

  it("EC2 without subnets uses the default network mode; with subnets awsvpc", () => {
    const bridge = buildTaskDefinition(renderedConfig({ launch_type: "EC2" }), ctx);
    expect(bridge.requiresCompatibilities).toEqual(["EC2"]);
    expect(bridge).not.toHaveProperty("networkMode");
    const vpc = buildTaskDefinition(renderedConfig({ launch_type: "EC2", subnets: ["subnet-1"] }), ctx);
    expect(vpc.networkMode).toBe("awsvpc");
  });

  it("configures awslogs with a default group, the region and a stream prefix, without asking the agent to create the group", () => {
    const def = buildTaskDefinition(renderedConfig({ configure_cloudwatch_logs: true, execution_role_arn: "arn:exec" }), ctx);
    expect(def.containerDefinitions?.[0]?.logConfiguration).toEqual({
      logDriver: "awslogs",
      options: { "awslogs-group": "/ferry/ecs", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ferry" },
    });
  });

  it("lets cloudwatch_logs_options override the defaults", () => {
    const def = buildTaskDefinition(
      renderedConfig({ configure_cloudwatch_logs: true, execution_role_arn: "arn:exec", cloudwatch_logs_options: { "awslogs-group": "/mine", "awslogs-create-group": "true" } }),
      ctx,
    );
    expect(def.containerDefinitions?.[0]?.logConfiguration?.options).toMatchObject({ "awslogs-group": "/mine", "awslogs-create-group": "true" });
  });

  it("refuses Fargate logs or an ECR image without an execution role, naming the variable", () => {
    expect(() => buildTaskDefinition(renderedConfig({ configure_cloudwatch_logs: true }), ctx)).toThrow(/execution_role_arn/);
    expect(() => buildTaskDefinition(renderedConfig({ image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1" }), ctx)).toThrow(/execution_role_arn/);
  });
});

describe("taskDefinitionKey", () => {
  it("is equal for equal content whatever the order of keys and env entries", () => {
    const a = buildTaskDefinition(renderedConfig({ env: { A: "1", B: "2" } }), ctx);
    const b = buildTaskDefinition(renderedConfig({ env: { B: "2", A: "1" } }), ctx);
    expect(taskDefinitionKey(a)).toBe(taskDefinitionKey(b));
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
    expect(taskDefinitionKey(reordered)).toBe(taskDefinitionKey(a));
  });

  it("differs when content differs, and ignores tags", () => {
    const a = buildTaskDefinition(renderedConfig(), ctx);
    const b = buildTaskDefinition(renderedConfig({ memory: 4096 }), ctx);
    expect(taskDefinitionKey(a)).not.toBe(taskDefinitionKey(b));
    expect(taskDefinitionKey({ ...a, tags: [{ key: "x", value: "y" }] })).toBe(taskDefinitionKey(a));
  });

  it("tags the run's pool, whose removal deletes the definition, and keys it per pool so no other pool reuses it", () => {
    const a = buildTaskDefinition(renderedConfig(), { ...ctx, pool: "a" });
    const b = buildTaskDefinition(renderedConfig(), { ...ctx, pool: "b" });
    expect(tagValue(a.tags, "ferry:pool")).toBe("a");
    expect(tagValue(a.tags, "ferry.key")).not.toBe(tagValue(b.tags, "ferry.key"));
    expect(tagValue(buildTaskDefinition(renderedConfig(), { ...ctx, pool: "a" }).tags, "ferry.key")).toBe(tagValue(a.tags, "ferry.key"));
  });
});

describe("familyFor", () => {
  it("derives a valid family name from odd names", () => {
    const family = familyFor(renderedConfig(), { deploymentId: "d", flowName: "my flow!", deploymentName: "prod/eu" });
    expect(family).toMatch(/^ferry-my-flow-prod-eu-[0-9a-f]{8}$/);
  });

  it("differs between two deployments of the same names", () => {
    const a = familyFor(renderedConfig(), { deploymentId: "a", flowName: "f", deploymentName: "d" });
    const b = familyFor(renderedConfig(), { deploymentId: "b", flowName: "f", deploymentName: "d" });
    expect(a).not.toBe(b);
  });

  it("stays within 255 characters", () => {
    expect(familyFor(renderedConfig(), { deploymentId: "a", flowName: "f".repeat(300), deploymentName: "d".repeat(300) }).length).toBeLessThanOrEqual(255);
  });
});

describe("placementOf", () => {
  it("maps launch types; FARGATE_SPOT becomes a capacity provider", () => {
    expect(placementOf(renderedConfig())).toEqual({ fargate: true, launchType: "FARGATE" });
    expect(placementOf(renderedConfig({ launch_type: "EC2" }))).toEqual({ fargate: false, launchType: "EC2" });
    expect(placementOf(renderedConfig({ launch_type: "FARGATE_SPOT" }))).toEqual({ fargate: true, capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] });
  });

  it("a capacity provider strategy replaces the launch type (Prefect #13030)", () => {
    const strategy = [{ capacityProvider: "FARGATE_SPOT", weight: 3 }, { capacityProvider: "FARGATE", base: 1, weight: 1 }];
    expect(placementOf(renderedConfig({ launch_type: "EC2", capacity_provider_strategy: strategy }))).toEqual({ fargate: true, capacityProviderStrategy: strategy });
    expect(placementOf(renderedConfig({ capacity_provider_strategy: [{ capacityProvider: "my-asg" }] })).fargate).toBe(false);
  });
});

describe("buildRunTaskRequest", () => {
  const network = { subnets: ["subnet-a", "subnet-b"], securityGroups: ["sg-1"] };

  it("runs one task with the idempotency key as client token, tags, and the run's env in the overrides", () => {
    const req = buildRunTaskRequest(renderedConfig({ cluster: "prod" }), "arn:td:1", network, runCtx);
    expect(req).toEqual({
      cluster: "prod",
      taskDefinition: "arn:td:1",
      count: 1,
      clientToken: "ferry-0190-run",
      startedBy: "ferry",
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a", "subnet-b"], securityGroups: ["sg-1"], assignPublicIp: "ENABLED" } },
      overrides: {
        containerOverrides: [
          {
            name: "ferry",
            environment: [
              { name: "FERRY_API_URL", value: "https://ferry.example" },
              { name: "FERRY_FLOW_RUN_ID", value: "0190-run" },
              { name: "FERRY_RUN_TOKEN", value: "secret-token" },
            ],
          },
        ],
      },
      tags: [
        { key: "ferry.flow_run_id", value: "0190-run" },
        { key: "ferry.deployment_id", value: "0190-dep" },
      ],
    });
  });

  it("uses the default cluster and no network configuration without awsvpc", () => {
    const req = buildRunTaskRequest(renderedConfig({ launch_type: "EC2" }), "arn", null, runCtx);
    expect(req.cluster).toBe("default");
    expect(req.launchType).toBe("EC2");
    expect(req).not.toHaveProperty("networkConfiguration");
  });

  it("sends a capacity provider strategy instead of a launch type, never both", () => {
    const req = buildRunTaskRequest(renderedConfig({ capacity_provider_strategy: [{ capacityProvider: "FARGATE_SPOT" }] }), "arn", network, runCtx);
    expect(req.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT" }]);
    expect(req).not.toHaveProperty("launchType");
  });

  it("never asks for a public IP on EC2", () => {
    const req = buildRunTaskRequest(renderedConfig({ launch_type: "EC2", subnets: ["s"] }), "arn", { subnets: ["s"], securityGroups: [] }, runCtx);
    expect(req.networkConfiguration?.awsvpcConfiguration).toEqual({ subnets: ["s"], assignPublicIp: "DISABLED" });
  });

  it("honours assign_public_ip DISABLED on Fargate", () => {
    const req = buildRunTaskRequest(renderedConfig({ assign_public_ip: "DISABLED" }), "arn", network, runCtx);
    expect(req.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe("DISABLED");
  });

  it("uses the container name of the job", () => {
    const req = buildRunTaskRequest(renderedConfig({ container_name: "main" }), "arn", network, runCtx);
    expect(req.overrides?.containerOverrides?.[0]?.name).toBe("main");
  });
});

describe("clientTokenFor", () => {
  it("keeps keys of up to 64 characters and hashes longer ones to 64", () => {
    expect(clientTokenFor("k".repeat(64))).toBe("k".repeat(64));
    const long = clientTokenFor("k".repeat(65));
    expect(long).toMatch(/^[0-9a-f]{64}$/);
    expect(clientTokenFor("k".repeat(65))).toBe(long);
    expect(clientTokenFor("j".repeat(65))).not.toBe(long);
  });
});

describe("resolveNetwork", () => {
  const lookup = (vpcs: Record<string, string[]>, defaultVpc: string | null) => {
    const asked: string[] = [];
    const l: NetworkLookup = {
      defaultVpcId: async () => {
        asked.push("default");
        return defaultVpc;
      },
      subnetIdsOfVpc: async (vpc) => {
        asked.push(vpc);
        return vpcs[vpc] ?? [];
      },
    };
    return { l, asked };
  };

  it("uses the given subnets and security groups without asking EC2", async () => {
    const { l, asked } = lookup({}, null);
    await expect(resolveNetwork(renderedConfig({ subnets: ["s-1"], security_groups: ["sg-1"] }), l, "us-east-1")).resolves.toEqual({ subnets: ["s-1"], securityGroups: ["sg-1"] });
    expect(asked).toEqual([]);
  });

  it("uses every subnet of the given VPC", async () => {
    const { l, asked } = lookup({ "vpc-1": ["s-b", "s-a"] }, "vpc-default");
    await expect(resolveNetwork(renderedConfig({ vpc_id: "vpc-1" }), l, "us-east-1")).resolves.toEqual({ subnets: ["s-a", "s-b"], securityGroups: [] });
    expect(asked).toEqual(["vpc-1"]);
  });

  it("falls back to the default VPC", async () => {
    const { l } = lookup({ "vpc-default": ["s-1"] }, "vpc-default");
    await expect(resolveNetwork(renderedConfig(), l, "us-east-1")).resolves.toEqual({ subnets: ["s-1"], securityGroups: [] });
  });

  it("without a default VPC says how to fix it", async () => {
    const { l } = lookup({}, null);
    await expect(resolveNetwork(renderedConfig(), l, "eu-west-3")).rejects.toThrow(/no default VPC in eu-west-3.*subnets.*provision-infra/);
  });

  it("a VPC without subnets says so", async () => {
    const { l } = lookup({ "vpc-1": [] }, null);
    await expect(resolveNetwork(renderedConfig({ vpc_id: "vpc-1" }), l, "us-east-1")).rejects.toMatchObject({ code: "validation_failed", message: expect.stringContaining("'vpc-1'") });
  });
});

describe("isEcrImage", () => {
  it("recognises ECR images", () => {
    expect(isEcrImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1")).toBe(true);
    expect(isEcrImage("python:3.12")).toBe(false);
    expect(isEcrImage("localhost:5000/app")).toBe(false);
  });
});
