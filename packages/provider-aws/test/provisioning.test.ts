import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { CreateAccessKeyCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecurityGroupCommand, CreateVpcCommand, EC2Client } from "@aws-sdk/client-ec2";
import { isFerryError, type ProvisionedCredentials, type ProvisionInput, type ProvisionProgress, type RemovalInput } from "@ferry/core";
import { describeProvisionerConformance } from "@ferry/provider-kit/conformance";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEcsProvisioner } from "../src/provisioning/ecs-provisioner.js";
import { ecsPolicyDocument } from "../src/provisioning/policy.js";

// The official AWS SDK against @ferry/aws-local (no Docker: provisioning runs no task). The provisioner
// is made as the client plugin makes it, with the plugin's `endpoint`; the user's identity is aws-local's
// root key here, where it would be the SDK's default chain.
const REGION = "us-east-1";
let local: AwsLocal;

beforeAll(async () => {
  local = await startAwsLocal({ defaultVpc: false, docker: null });
});

afterAll(async () => {
  await local?.close();
});

async function emptyAccount(): Promise<void> {
  await local.reset();
  local.setDefaultVpc(false);
}

const identity = () => ({ accessKeyId: local.credentials.accessKeyId, secretAccessKey: local.credentials.secretAccessKey });
const provisioner = () => createEcsProvisioner({ endpoint: local.endpoint, credentials: identity() });
const root = () => ({ region: REGION, endpoint: local.endpoint, credentials: identity() });

/** The first write of each step: failing it fails the step. */
const FIRST_WRITE: Record<string, { service: string; operation: string; code: string }> = {
  "execution-role": { service: "iam", operation: "CreateRole", code: "AccessDenied" },
  user: { service: "iam", operation: "CreateUser", code: "AccessDenied" },
  policy: { service: "iam", operation: "CreatePolicy", code: "AccessDenied" },
  "access-key": { service: "iam", operation: "CreateAccessKey", code: "AccessDenied" },
  cluster: { service: "ecs", operation: "CreateCluster", code: "AccessDeniedException" },
  vpc: { service: "ec2", operation: "CreateVpc", code: "UnauthorizedOperation" },
  "internet-gateway": { service: "ec2", operation: "CreateInternetGateway", code: "UnauthorizedOperation" },
  subnets: { service: "ec2", operation: "CreateSubnet", code: "UnauthorizedOperation" },
  "route-table": { service: "ec2", operation: "CreateRouteTable", code: "UnauthorizedOperation" },
  "security-group": { service: "ec2", operation: "CreateSecurityGroup", code: "UnauthorizedOperation" },
  repository: { service: "ecr", operation: "CreateRepository", code: "AccessDeniedException" },
};

describeProvisionerConformance("the ecs:push provisioner on @ferry/aws-local", async () => {
  await emptyAccount();
  return {
    provisioner: provisioner(),
    options: { region: REGION },
    snapshot: async () => resources(),
    failAt: (step) => {
      const write = FIRST_WRITE[step];
      if (!write) throw new Error(`no first write known for the step ${step}`);
      local.injectFault({ ...write, status: 403, message: `not authorized to perform: ${write.service}:${write.operation}`, times: 1 });
    },
    seedForeign: async () => {
      // A cluster with the default name but no tag (provisioning adopts it; removal must keep it), and
      // another pool's VPC with an untagged security group.
      const ecs = new ECSClient(root());
      const ec2 = new EC2Client(root());
      try {
        await ecs.send(new CreateClusterCommand({ clusterName: "ferry-ecs-cluster" }));
        const vpc = await ec2.send(
          new CreateVpcCommand({ CidrBlock: "10.99.0.0/16", TagSpecifications: [{ ResourceType: "vpc", Tags: [{ Key: "ferry:pool", Value: "someone-else" }, { Key: "Name", Value: "their-vpc" }] }] }),
        );
        await ec2.send(new CreateSecurityGroupCommand({ GroupName: "theirs", Description: "not Ferry's", VpcId: vpc.Vpc!.VpcId! }));
      } finally {
        ecs.destroy();
        ec2.destroy();
      }
    },
  };
});

beforeEach(emptyAccount);

/** Operations that change the account, in the order they were received. */
function writes(): string[] {
  return local
    .calls()
    .filter((c) => !/^(Describe|Get|List)/.test(c.operation))
    .map((c) => `${c.service}:${c.operation}`);
}

/** Every resource of the account, by kind, with its tags: what "as it was" compares. */
function resources(): Record<string, string[]> {
  const data = local.state.data;
  const list = (items: Record<string, { tags?: Record<string, string> }>, key: (k: string, v: { tags?: Record<string, string> }) => string = (k) => k) =>
    Object.entries(items)
      .map(([k, v]) => `${key(k, v)} ${JSON.stringify(Object.fromEntries(Object.entries(v.tags ?? {}).sort()))}`)
      .sort();
  const out: Record<string, string[]> = {
    roles: list(data.iam.roles),
    users: list(data.iam.users),
    policies: list(data.iam.policies),
    accessKeys: Object.keys(data.iam.accessKeys).sort(),
  };
  for (const [name, region] of Object.entries(data.regions)) {
    out[`${name}/vpcs`] = list(region.ec2.vpcs);
    out[`${name}/subnets`] = list(region.ec2.subnets);
    out[`${name}/internetGateways`] = list(region.ec2.internetGateways);
    out[`${name}/routeTables`] = list(region.ec2.routeTables);
    out[`${name}/securityGroups`] = list(region.ec2.securityGroups);
    out[`${name}/clusters`] = list(Object.fromEntries(Object.values(region.ecs.clusters).filter((c) => c.status === "ACTIVE").map((c) => [c.name, c])));
    out[`${name}/repositories`] = list(region.ecr.repositories);
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v.length));
}

function input(overrides: Partial<ProvisionInput> = {}): ProvisionInput {
  return { poolName: "p", options: { region: REGION }, hasCredentials: false, ...overrides };
}

function removal(poolName = "p"): RemovalInput {
  return { poolName, options: { region: REGION } };
}

const saving = (saved: ProvisionedCredentials[] = []) => async (c: ProvisionedCredentials) => void saved.push(c);
const refusing = (why: string) => async () => Promise.reject(new Error(why));

function recorder() {
  const events: ProvisionProgress[] = [];
  return { events, onProgress: (e: ProvisionProgress) => void events.push(e), statuses: () => events.filter((e) => e.status !== "started").map((e) => `${e.step.id}:${e.status}`) };
}

describe("the ecs:push provisioner against aws-local", () => {
  it("creates every resource in an empty account without a default VPC", async () => {
    const saved: ProvisionedCredentials[] = [];
    const p = provisioner();
    const plan = await p.plan(input());
    expect(plan.map((s) => `${s.id}:${s.action}`)).toEqual([
      "execution-role:create",
      "user:create",
      "policy:create",
      "access-key:create",
      "cluster:create",
      "vpc:create",
      "internet-gateway:create",
      "subnets:create",
      "route-table:create",
      "security-group:create",
      "repository:create",
    ]);
    expect(writes()).toEqual([]); // plan only reads

    const progress = recorder();
    const result = await p.apply(input({ saveCredentials: saving(saved) }), progress.onProgress);
    expect(progress.statuses()).toEqual(plan.map((s) => `${s.id}:done`));

    const data = local.state.data;
    const role = data.iam.roles.FerryEcsTaskExecutionRole!;
    expect(role.tags).toMatchObject({ "ferry:pool": "p", "managed-by": "ferry" });
    expect(JSON.parse(decodeURIComponent(role.assumeRolePolicyDocument)).Statement[0].Principal.Service).toBe("ecs-tasks.amazonaws.com");
    expect(role.attachedPolicies).toContain("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy");
    expect(JSON.stringify(role.inlinePolicies)).toContain("logs:CreateLogGroup");

    const user = data.iam.users["ferry-ecs-user"]!;
    expect(user.tags).toMatchObject({ "ferry:pool": "p" });
    const policyArn = `arn:aws:iam::${local.accountId}:policy/ferry-ecs-policy`;
    expect(data.iam.policies[policyArn]).toBeDefined();
    expect(JSON.stringify(data.iam.policies[policyArn])).toContain("iam:PassRole");
    expect(writes()).toContain("iam:AttachUserPolicy");

    expect(saved).toHaveLength(1);
    expect(result.credentials).toEqual(saved[0]);
    expect(saved[0]).toMatchObject({ type: "aws", data: { aws_access_key_id: expect.stringMatching(/^AKIA/), aws_secret_access_key: expect.any(String), region_name: REGION } });
    expect(Object.values(data.iam.accessKeys).filter((k) => k.userName === "ferry-ecs-user")).toHaveLength(1);

    const region = data.regions[REGION]!;
    expect(Object.values(region.ecs.clusters).map((c) => [c.name, c.status, c.tags["ferry:pool"]])).toEqual([["ferry-ecs-cluster", "ACTIVE", "p"]]);
    const vpcs = Object.values(region.ec2.vpcs);
    expect(vpcs.map((v) => [v.cidrBlock, v.tags.Name, v.tags["ferry:pool"]])).toEqual([["172.31.0.0/16", "ferry-ecs-vpc", "p"]]);
    const vpcId = vpcs[0]!.id;
    const subnets = Object.values(region.ec2.subnets).filter((s) => s.vpcId === vpcId);
    expect(new Set(subnets.map((s) => s.availabilityZone)).size).toBe(3);
    expect(Object.values(region.ec2.internetGateways).filter((g) => JSON.stringify(g).includes(vpcId))).toHaveLength(1);
    const table = Object.values(region.ec2.routeTables).find((t) => t.tags.Name === "ferry-ecs-vpc-public")!;
    expect(JSON.stringify(table)).toContain("0.0.0.0/0");
    for (const s of subnets) expect(JSON.stringify(table)).toContain(s.id);
    const group = Object.values(region.ec2.securityGroups).find((g) => g.name === "ferry-ecs-vpc-sg")!;
    expect(group.tags["ferry:pool"]).toBe("p");
    expect(group.rules.filter((r) => !r.egress)).toEqual([]);
    expect(group.rules.filter((r) => r.egress)).toEqual([expect.objectContaining({ ipProtocol: "-1", cidrIp: "0.0.0.0/0" })]);
    expect(Object.keys(region.ecr.repositories)).toEqual(["ferry-flows"]);

    expect(result.jobVariableDefaults).toEqual({
      region: REGION,
      cluster: "ferry-ecs-cluster",
      execution_role_arn: role.arn,
      vpc_id: vpcId,
      subnets: subnets.map((s) => s.id),
      security_groups: [group.id],
    });
    expect(result.profile?.default_image_namespace).toMatch(/\/ferry-flows$/);
  });

  it("provisions in the region the option names, and uses the name overrides", async () => {
    const result = await provisioner().apply(input({ options: { region: "eu-west-1", cluster_name: "team-cluster", repository_name: "team/flows" } }), () => {});
    const region = local.state.data.regions["eu-west-1"]!;
    expect(Object.values(region.ecs.clusters).map((c) => c.name)).toEqual(["team-cluster"]);
    expect(Object.keys(region.ecr.repositories)).toEqual(["team/flows"]);
    expect(result.jobVariableDefaults).toMatchObject({ region: "eu-west-1", cluster: "team-cluster" });
    expect(new Set(local.calls().filter((c) => c.service !== "iam").map((c) => c.region))).toEqual(new Set(["eu-west-1"]));
  });

  it("attaches ecsPolicyDocument to the user, with PassRole on the execution role only", async () => {
    await provisioner().apply(input(), () => {});
    const policy = local.state.data.iam.policies[`arn:aws:iam::${local.accountId}:policy/ferry-ecs-policy`]!;
    const role = local.state.data.iam.roles.FerryEcsTaskExecutionRole!;
    const document = policy.versions.find((v) => v.versionId === policy.defaultVersionId)!.document;
    expect(JSON.parse(decodeURIComponent(document))).toEqual(ecsPolicyDocument(local.accountId, role.arn));
    expect(local.state.data.iam.users["ferry-ecs-user"]!.attachedPolicies).toEqual([policy.arn]);
  });

  it("a second apply makes no call that writes and no new access key", async () => {
    await provisioner().apply(input({ saveCredentials: saving() }), () => {});
    const before = resources();
    local.clearCalls();
    const again = input({ hasCredentials: true, saveCredentials: refusing("no key may be made") });
    expect((await provisioner().plan(again)).every((s) => s.action === "exists")).toBe(true);
    const progress = recorder();
    const result = await provisioner().apply(again, progress.onProgress);
    expect(progress.events.every((e) => e.status === "skipped")).toBe(true);
    expect(writes()).toEqual([]);
    expect(resources()).toEqual(before);
    expect(result.credentials).toBeUndefined();
    expect(result.jobVariableDefaults).toMatchObject({ cluster: "ferry-ecs-cluster", vpc_id: expect.stringMatching(/^vpc-/) });
  });

  it("makes no network when the region has a default VPC", async () => {
    local.setDefaultVpc(true);
    const plan = await provisioner().plan(input());
    expect(plan.find((s) => s.id === "vpc")).toMatchObject({ action: "exists", detail: "the region's default VPC" });
    expect(plan.some((s) => s.id === "subnets")).toBe(false);
    const vpcsBefore = Object.keys(local.state.data.regions[REGION]!.ec2.vpcs);
    const result = await provisioner().apply(input(), () => {});
    expect(writes().filter((w) => w.startsWith("ec2:"))).toEqual([]);
    expect(Object.keys(local.state.data.regions[REGION]!.ec2.vpcs)).toEqual(vpcsBefore);
    expect(result.jobVariableDefaults).not.toHaveProperty("vpc_id");
    expect(result.jobVariableDefaults).not.toHaveProperty("subnets");
  });

  it("resumes an apply interrupted after a step", async () => {
    const controller = new AbortController();
    const first = recorder();
    const error = await provisioner()
      .apply(input({ signal: controller.signal, saveCredentials: saving() }), (e) => {
        first.onProgress(e);
        if (e.step.id === "subnets" && e.status === "done") controller.abort();
      })
      .catch((e: unknown) => e);
    expect(isFerryError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /provisioning stopped at the route table ferry-ecs-vpc-public: provisioning was interrupted\. Made by this run before that: IAM role FerryEcsTaskExecutionRole, .*subnets ferry-ecs-vpc-\*\. .*run the same command again to resume/,
    );
    expect(Object.keys(local.state.data.regions[REGION]!.ecr.repositories)).toEqual([]);

    local.clearCalls();
    const second = recorder();
    await provisioner().apply(input({ hasCredentials: true, saveCredentials: refusing("the first run's key was stored: no second key") }), second.onProgress);
    expect(second.statuses()).toEqual([
      "execution-role:skipped",
      "user:skipped",
      "policy:skipped",
      "access-key:skipped",
      "cluster:skipped",
      "vpc:skipped",
      "internet-gateway:skipped",
      "subnets:skipped",
      "route-table:done",
      "security-group:done",
      "repository:done",
    ]);
    const region = local.state.data.regions[REGION]!;
    expect(Object.values(region.ec2.vpcs)).toHaveLength(1);
    expect(Object.values(region.ec2.subnets)).toHaveLength(3);
    expect(Object.values(local.state.data.iam.accessKeys)).toHaveLength(1);
  });

  it("names the missing permission when AWS refuses, and a re-run resumes", async () => {
    local.injectFault({ service: "iam", operation: "CreatePolicy", code: "AccessDenied", status: 403, message: "not authorized to perform: iam:CreatePolicy" });
    const progress = recorder();
    const error = await provisioner()
      .apply(input({ saveCredentials: saving() }), progress.onProgress)
      .catch((e: unknown) => e);
    expect(isFerryError(error, "provider_auth")).toBe(true);
    expect((error as Error).message).toMatch(
      /stopped at the IAM policy ferry-ecs-policy: your AWS identity lacks iam:CreatePolicy \(the IAM policy ferry-ecs-policy\); use an identity with administrator access for provisioning.*Made by this run before that: IAM role FerryEcsTaskExecutionRole, IAM user ferry-ecs-user\./,
    );
    expect(progress.statuses()).toEqual(["execution-role:done", "user:done", "policy:failed"]);

    const again = recorder();
    await provisioner().apply(input({ saveCredentials: saving() }), again.onProgress);
    expect(again.statuses().slice(0, 3)).toEqual(["execution-role:skipped", "user:skipped", "policy:done"]);
  });

  it("retries a throttled call, and says so when AWS keeps throttling", async () => {
    local.injectFault({ service: "ecs", operation: "CreateCluster", code: "ThrottlingException", message: "Rate exceeded", times: 1 });
    await provisioner().apply(input(), () => {});
    expect(local.calls().filter((c) => c.operation === "CreateCluster").map((c) => c.error ?? "ok")).toEqual(["ThrottlingException", "ok"]);

    await emptyAccount();
    local.injectFault({ service: "ecs", operation: "CreateCluster", code: "ThrottlingException", message: "Rate exceeded", times: 10 });
    const error = await provisioner()
      .apply(input(), () => {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "provider_throttled", retryable: true });
    expect((error as Error).message).toContain("AWS throttled ecs:CreateCluster (the cluster ferry-ecs-cluster); wait a moment and run again");
  });

  it("deletes a new key again when it cannot be stored", async () => {
    const error = await provisioner()
      .apply(input({ saveCredentials: refusing("server unreachable") }), () => {})
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/could not store the new access key, so it was deleted again: server unreachable/);
    expect(Object.values(local.state.data.iam.accessKeys)).toHaveLength(0);
  });

  it("asks for a region when neither the option nor the SDK gives one", async () => {
    const saved = { region: process.env.AWS_REGION, defaultRegion: process.env.AWS_DEFAULT_REGION, config: process.env.AWS_CONFIG_FILE };
    // The SDK reads these itself: with none, it has no region (what a user without AWS configuration sees).
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    process.env.AWS_CONFIG_FILE = "/nonexistent/ferry-aws-config";
    try {
      const error = await provisioner()
        .plan({ poolName: "p", options: {}, hasCredentials: false })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "validation_failed", message: expect.stringContaining("no AWS region: pass --region or set AWS_REGION") });
    } finally {
      for (const [key, value] of [["AWS_REGION", saved.region], ["AWS_DEFAULT_REGION", saved.defaultRegion], ["AWS_CONFIG_FILE", saved.config]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe("removal against aws-local", () => {
  it("leaves the account as it was, removing in the reverse order of creation", async () => {
    const before = resources();
    await provisioner().apply(input({ saveCredentials: saving() }), () => {});
    expect(resources()).not.toEqual(before);

    const plan = await provisioner().planRemoval(removal());
    expect(plan.every((s) => s.action === "delete")).toBe(true);
    expect(plan.map((s) => s.id)).toEqual([
      "repository",
      "security-group",
      "route-table",
      "subnet",
      "subnet",
      "subnet",
      "internet-gateway",
      "vpc",
      "cluster",
      "access-key",
      "policy",
      "user",
      "execution-role",
    ]);
    const events: string[] = [];
    await provisioner().remove(removal(), (e) => void (e.status === "done" && events.push(e.step.id)));
    expect(events).toEqual(plan.map((s) => s.id));
    expect(resources()).toEqual(before);
  });

  it("leaves alone what is not tagged for the pool, and says so", async () => {
    await provisioner().apply(input({ poolName: "a" }), () => {});
    const before = resources();
    const plan = await provisioner().planRemoval(removal("b"));
    expect(plan.filter((s) => s.action === "delete")).toEqual([]);
    expect(plan.map((s) => s.id)).toEqual(["repository", "cluster", "policy", "user", "execution-role"]);
    expect(plan.every((s) => s.detail === "used by pool 'a', not by 'b': left alone")).toBe(true);
    expect(await provisioner().remove(removal("b"), () => {})).toEqual([]);
    expect(resources()).toEqual(before);
  });
});

describe("pools that share what provisioning made", () => {
  const keysOf = (user: string) => Object.values(local.state.data.iam.accessKeys).filter((k) => k.userName === user).map((k) => k.id);

  it("removing one pool keeps what another uses, and the other's key; removing the last leaves the account as it was", async () => {
    const before = resources();
    const savedA: ProvisionedCredentials[] = [];
    await provisioner().apply(input({ poolName: "a", saveCredentials: saving(savedA) }), () => {});
    const keyA = savedA[0]!.data.aws_access_key_id!;

    // Pool b finds everything pool a's provisioning made: it tags each as used by b too, and gets its own key.
    const planB = await provisioner().plan(input({ poolName: "b" }));
    expect(planB.find((s) => s.id === "user")).toMatchObject({ action: "create", detail: "made by Ferry for pool 'a': tag it as used by pool 'b' too" });
    const savedB: ProvisionedCredentials[] = [];
    await provisioner().apply(input({ poolName: "b", saveCredentials: saving(savedB) }), () => {});
    const keyB = savedB[0]!.data.aws_access_key_id!;
    expect(keysOf("ferry-ecs-user").sort()).toEqual([keyA, keyB].sort());
    expect(local.state.data.iam.users["ferry-ecs-user"]!.tags).toMatchObject({ "ferry:pool": "a", "ferry:pool:b": "true", "ferry:access-key:a": keyA, "ferry:access-key:b": keyB });

    // A task definition pool a's runs registered (the provider tags it with the pool).
    const ecs = new ECSClient(root());
    try {
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "ferry-flow-a",
          containerDefinitions: [{ name: "flow", image: "ferry-base:bookworm" }],
          tags: [{ key: "ferry:pool", value: "a" }],
        }),
      );
    } finally {
      ecs.destroy();
    }

    const planA = await provisioner().planRemoval(removal("a"));
    // Nothing pool b uses is deleted: only pool a's tags, pool a's key and its task definition go.
    expect(planA.filter((s) => s.action === "delete" && !s.resource.startsWith("pool tag on ")).map((s) => `${s.resource} ${s.name}`)).toEqual([
      "ECS task definition ferry-flow-a:1",
      `IAM access key ${keyA}`,
    ]);
    expect(planA.find((s) => s.resource === "pool tag on IAM user")).toMatchObject({ name: "ferry-ecs-user", detail: "also used by pool 'b': it stays, only pool 'a''s tag is removed" });
    await provisioner().remove(removal("a"), () => {});
    expect(keysOf("ferry-ecs-user")).toEqual([keyB]);
    const region = local.state.data.regions[REGION]!;
    expect(Object.keys(local.state.data.iam.roles)).toEqual(["FerryEcsTaskExecutionRole"]);
    expect(Object.values(local.state.data.iam.policies).map((p) => p.name)).toEqual(["ferry-ecs-policy"]);
    expect(Object.values(region.ecs.clusters).filter((c) => c.status === "ACTIVE").map((c) => c.name)).toEqual(["ferry-ecs-cluster"]);
    expect(Object.values(region.ec2.vpcs).map((v) => v.tags["ferry:pool:b"])).toEqual(["true"]);
    expect(Object.values(region.ecs.taskDefinitions).map((d) => d.status)).toEqual(["DELETE_IN_PROGRESS"]);
    expect(local.state.data.iam.users["ferry-ecs-user"]!.tags).toEqual({ "managed-by": "ferry", "ferry:pool:b": "true", "ferry:access-key:b": keyB });

    // Removing pool a again finds nothing of it; removing b, the last user, deletes everything.
    expect((await provisioner().planRemoval(removal("a"))).filter((s) => s.action === "delete")).toEqual([]);
    await provisioner().remove(removal("b"), () => {});
    expect(resources()).toEqual(before);
  });

  it("refuses to plan a third access key before making anything, naming the user's two keys and the fixes", async () => {
    await provisioner().apply(input({ poolName: "a", saveCredentials: saving() }), () => {});
    const iam = new IAMClient(root());
    try {
      await iam.send(new CreateAccessKeyCommand({ UserName: "ferry-ecs-user" }));
    } finally {
      iam.destroy();
    }
    const [first, second] = keysOf("ferry-ecs-user");
    local.clearCalls();
    const progress = recorder();
    for (const attempt of [provisioner().plan(input({ poolName: "c" })), provisioner().apply(input({ poolName: "c", saveCredentials: saving() }), progress.onProgress)]) {
      const error = await attempt.catch((e: unknown) => e);
      expect(isFerryError(error, "provider_quota"), String(error)).toBe(true);
      expect((error as Error).message).toContain(`the IAM user ferry-ecs-user already has 2 access keys (${first}, ${second}), the most AWS allows, and pool 'c' has no credentials`);
      expect((error as Error).message).toContain(`Fix: delete a key nobody uses ('aws iam delete-access-key --user-name ferry-ecs-user --access-key-id ${first}')`);
    }
    expect(progress.events).toEqual([]);
    expect(writes()).toEqual([]);
    expect(keysOf("ferry-ecs-user")).toHaveLength(2);
    // With credentials of its own the pool needs no key: provisioning goes on.
    await provisioner().apply(input({ poolName: "c", hasCredentials: true }), () => {});
  });

  it("removes in the region the pool was provisioned in, from the pool's defaults, whatever the SDK's region is now", async () => {
    const result = await provisioner().apply({ poolName: "west", options: { region: "us-west-2" }, hasCredentials: true }, () => {});
    expect(result.jobVariableDefaults).toMatchObject({ region: "us-west-2", cluster: "ferry-ecs-cluster" });
    const clusters = () => Object.values(local.state.data.regions["us-west-2"]!.ecs.clusters).filter((c) => c.status === "ACTIVE").map((c) => c.name);
    expect(clusters()).toEqual(["ferry-ecs-cluster"]);
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = "us-east-1";
    try {
      const plan = await provisioner().planRemoval({ poolName: "west", options: {}, poolDefaults: result.jobVariableDefaults });
      expect(plan.find((s) => s.id === "cluster")).toMatchObject({ action: "delete" });
      await provisioner().remove({ poolName: "west", options: {}, poolDefaults: result.jobVariableDefaults }, () => {});
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
    expect(clusters()).toEqual([]);
  });
});
