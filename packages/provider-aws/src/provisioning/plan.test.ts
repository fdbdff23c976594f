import { describe, expect, it } from "vitest";
import { DEFAULT_NAMES } from "./names.js";
import { hasPoolTag, jobVariableDefaults, planSteps, type ObservedState } from "./plan.js";

const empty: ObservedState = {
  accountId: "123456789012",
  region: "us-east-1",
  executionRole: null,
  user: null,
  policy: null,
  cluster: null,
  defaultVpc: null,
  vpc: null,
  internetGateway: null,
  subnets: [],
  routeTable: null,
  securityGroup: null,
  vpcCidrs: [],
  zones: ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"],
  repository: null,
};

const complete: ObservedState = {
  ...empty,
  executionRole: { arn: "arn:aws:iam::123456789012:role/FerryEcsTaskExecutionRole", managedPolicyAttached: true, logsPolicy: true },
  user: { arn: "arn:aws:iam::123456789012:user/ferry-ecs-user", accessKeys: 1 },
  policy: { arn: "arn:aws:iam::123456789012:policy/ferry-ecs-policy", attachedToUser: true },
  cluster: { arn: "arn:aws:ecs:us-east-1:123456789012:cluster/ferry-ecs-cluster" },
  vpc: { id: "vpc-1", cidr: "172.31.0.0/16" },
  internetGateway: { id: "igw-1", attached: true },
  subnets: [
    { id: "subnet-a", zone: "us-east-1a", cidr: "172.31.0.0/20" },
    { id: "subnet-b", zone: "us-east-1b", cidr: "172.31.16.0/20" },
    { id: "subnet-c", zone: "us-east-1c", cidr: "172.31.32.0/20" },
  ],
  routeTable: { id: "rtb-1", defaultRoute: true, associatedSubnets: ["subnet-a", "subnet-b", "subnet-c"] },
  securityGroup: { id: "sg-1" },
  vpcCidrs: ["172.31.0.0/16"],
  repository: { uri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/ferry-flows" },
};

const ctx = { names: DEFAULT_NAMES, poolName: "p", hasCredentials: false };
const actions = (state: ObservedState, hasCredentials = false) =>
  Object.fromEntries(planSteps(state, { ...ctx, hasCredentials }).map((s) => [s.id, s.action]));

describe("planSteps", () => {
  it("creates every step, in provisioning order, in an empty account without a default VPC", () => {
    const steps = planSteps(empty, ctx);
    expect(steps.map((s) => s.id)).toEqual([
      "execution-role",
      "user",
      "policy",
      "access-key",
      "cluster",
      "vpc",
      "internet-gateway",
      "subnets",
      "route-table",
      "security-group",
      "repository",
    ]);
    expect(steps.every((s) => s.action === "create")).toBe(true);
    expect(steps.find((s) => s.id === "vpc")).toMatchObject({ name: "ferry-ecs-vpc", detail: "172.31.0.0/16" });
    expect(steps.find((s) => s.id === "access-key")!.detail).toBe("stored as credentials 'p-aws'");
  });

  it("makes no network with a default VPC", () => {
    const steps = planSteps({ ...empty, defaultVpc: { id: "vpc-default" }, zones: [] }, ctx);
    expect(steps.filter((s) => ["vpc", "internet-gateway", "subnets", "route-table", "security-group"].includes(s.id))).toEqual([
      { id: "vpc", resource: "VPC", name: "vpc-default", action: "exists", detail: "the region's default VPC" },
    ]);
  });

  it("finds nothing to do once everything exists and the pool has credentials", () => {
    expect(Object.values(actions(complete, true)).every((a) => a === "exists")).toBe(true);
  });

  it("makes a key only for a pool without credentials; with two keys on the user, refuses to plan and names them and the fixes", () => {
    expect(actions(complete, false)["access-key"]).toBe("create");
    const full = { ...complete, user: { ...complete.user!, accessKeys: 2, accessKeyIds: ["AKIAONE", "AKIATWO"] } };
    expect(() => planSteps(full, { ...ctx, hasCredentials: false })).toThrow(
      /the IAM user ferry-ecs-user already has 2 access keys \(AKIAONE, AKIATWO\), the most AWS allows.*Fix: delete a key nobody uses \('aws iam delete-access-key --user-name ferry-ecs-user --access-key-id AKIAONE'\), or give the pool credentials/,
    );
    // A pool that has credentials needs no key: two on the user are fine.
    expect(planSteps(full, { ...ctx, hasCredentials: true }).find((s) => s.id === "access-key")!.action).toBe("exists");
  });

  it("tags what Ferry made for another pool as used by this pool too, and leaves alone what Ferry did not make", () => {
    const shared: ObservedState = {
      ...complete,
      tags: {
        cluster: [{ id: "arn:cluster", tags: { "ferry:pool": "a", "managed-by": "ferry" } }],
        user: [{ id: "ferry-ecs-user", tags: { "ferry:pool": "a", "ferry:pool:p": "true" } }],
        repository: [{ id: "arn:repo", tags: {} }],
      },
    };
    const steps = planSteps(shared, { ...ctx, hasCredentials: true });
    expect(steps.find((s) => s.id === "cluster")).toMatchObject({ action: "create", detail: "made by Ferry for pool 'a': tag it as used by pool 'p' too" });
    expect(steps.find((s) => s.id === "user")!.action).toBe("exists");
    expect(steps.find((s) => s.id === "repository")!.action).toBe("exists");
  });

  it("resumes a half-made step: attachments and missing pieces count as to create", () => {
    const half: ObservedState = {
      ...complete,
      executionRole: { ...complete.executionRole!, logsPolicy: false },
      policy: { ...complete.policy!, attachedToUser: false },
      internetGateway: { id: "igw-1", attached: false },
      subnets: complete.subnets.slice(0, 1),
      routeTable: { id: "rtb-1", defaultRoute: true, associatedSubnets: ["subnet-a"] },
    };
    const steps = planSteps(half, { ...ctx, hasCredentials: true });
    const byId = Object.fromEntries(steps.map((s) => [s.id, s]));
    expect(byId["execution-role"]).toMatchObject({ action: "create", detail: "allow log-group creation" });
    expect(byId.policy).toMatchObject({ action: "create", detail: "attach to ferry-ecs-user" });
    expect(byId["internet-gateway"]).toMatchObject({ action: "create", detail: "attach to the VPC" });
    expect(byId.subnets).toMatchObject({ action: "create", detail: "2 of 3, one per availability zone" });
    expect(byId["route-table"]).toMatchObject({ action: "create", detail: "associate 2 subnets" });
    expect(byId.cluster!.action).toBe("exists");
  });

  it("picks a VPC block that overlaps none in the region", () => {
    const step = planSteps({ ...empty, vpcCidrs: ["172.31.0.0/16", "10.0.0.0/16"] }, ctx).find((s) => s.id === "vpc")!;
    expect(step.detail).toBe("10.1.0.0/16");
  });

  it("wants a subnet per zone in a region with fewer than three", () => {
    const two = { ...complete, zones: ["eu-x-1a", "eu-x-1b"], subnets: complete.subnets.slice(0, 2), routeTable: { ...complete.routeTable!, associatedSubnets: ["subnet-a", "subnet-b"] } };
    expect(actions(two, true).subnets).toBe("exists");
  });
});

describe("jobVariableDefaults", () => {
  it("sets the network only for a VPC provisioning made", () => {
    expect(jobVariableDefaults({ region: "eu-west-1", cluster: "c", executionRoleArn: "arn:r", network: null })).toEqual({ region: "eu-west-1", cluster: "c", execution_role_arn: "arn:r" });
    expect(jobVariableDefaults({ region: "eu-west-1", cluster: "c", executionRoleArn: "arn:r", network: { vpcId: "vpc-1", subnets: ["s1"], securityGroups: ["sg"] } })).toEqual({
      region: "eu-west-1",
      cluster: "c",
      execution_role_arn: "arn:r",
      vpc_id: "vpc-1",
      subnets: ["s1"],
      security_groups: ["sg"],
    });
  });
});

describe("hasPoolTag", () => {
  it("reads IAM/EC2 and ECS tag spellings, and only the pool's value", () => {
    expect(hasPoolTag([{ Key: "ferry:pool", Value: "p" }], "p")).toBe(true);
    expect(hasPoolTag([{ key: "ferry:pool", value: "p" }], "p")).toBe(true);
    expect(hasPoolTag([{ Key: "ferry:pool", Value: "other" }], "p")).toBe(false);
    expect(hasPoolTag(undefined, "p")).toBe(false);
  });
});
