import { isFerryError, type ProvisionInput, type ProvisionProgress } from "@ferry/core";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deprovision, ecsPolicyDocument, EcsProvisioner, planDeprovision, type ProvisionedCredentials } from "../src/provisioning/index.js";

// The official AWS SDK against @ferry/aws-local: the SDK finds it through AWS_ENDPOINT_URL, as it would
// any endpoint; nothing in the provisioner knows it is not AWS.
const REGION = "us-east-1";
let local: AwsLocal;
let savedEndpoint: string | undefined;

beforeAll(async () => {
  local = await startAwsLocal({ defaultVpc: false, docker: null });
  savedEndpoint = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = local.endpoint;
});

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = savedEndpoint;
  await local?.close();
});

beforeEach(async () => {
  await local.reset();
  local.setDefaultVpc(false);
});

function provisioner(saveCredentials?: (c: ProvisionedCredentials) => Promise<void>): EcsProvisioner {
  return new EcsProvisioner({
    region: REGION,
    credentials: { accessKeyId: local.credentials.accessKeyId, secretAccessKey: local.credentials.secretAccessKey },
    ...(saveCredentials ? { saveCredentials } : {}),
  });
}

const awsOptions = () => ({ region: REGION, credentials: { accessKeyId: local.credentials.accessKeyId, secretAccessKey: local.credentials.secretAccessKey } });

function input(overrides: Partial<ProvisionInput> = {}): ProvisionInput {
  return { poolName: "p", options: {}, hasCredentials: false, ...overrides };
}

/** Operations that change the account, in the order they were received. */
function writes(): string[] {
  return local
    .calls()
    .filter((c) => !/^(Describe|Get|List)/.test(c.operation))
    .map((c) => `${c.service}:${c.operation}`);
}

/** Every resource of the account, by kind: what "as it was" compares. */
function resources(): Record<string, string[]> {
  const data = local.state.data;
  const out: Record<string, string[]> = {
    roles: Object.keys(data.iam.roles).sort(),
    users: Object.keys(data.iam.users).sort(),
    policies: Object.keys(data.iam.policies).sort(),
    accessKeys: Object.keys(data.iam.accessKeys).sort(),
  };
  for (const [name, region] of Object.entries(data.regions)) {
    out[`${name}/vpcs`] = Object.keys(region.ec2.vpcs).sort();
    out[`${name}/subnets`] = Object.keys(region.ec2.subnets).sort();
    out[`${name}/internetGateways`] = Object.keys(region.ec2.internetGateways).sort();
    out[`${name}/routeTables`] = Object.keys(region.ec2.routeTables).sort();
    out[`${name}/securityGroups`] = Object.keys(region.ec2.securityGroups).sort();
    out[`${name}/clusters`] = Object.values(region.ecs.clusters).filter((c) => c.status === "ACTIVE").map((c) => c.name).sort();
    out[`${name}/repositories`] = Object.keys(region.ecr.repositories).sort();
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v.length));
}

function recorder() {
  const events: ProvisionProgress[] = [];
  return { events, onProgress: (e: ProvisionProgress) => void events.push(e), statuses: () => events.filter((e) => e.status !== "started").map((e) => `${e.step.id}:${e.status}`) };
}

describe("EcsProvisioner against aws-local", () => {
  it("creates every resource in an empty account without a default VPC", async () => {
    const saved: ProvisionedCredentials[] = [];
    const p = provisioner(async (c) => void saved.push(c));
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
    const result = await p.apply(input(), progress.onProgress);
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
    expect(saved[0]!.data).toMatchObject({ aws_access_key_id: expect.stringMatching(/^AKIA/), aws_secret_access_key: expect.any(String), region_name: REGION });
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
    expect(p.registryLogin).toMatchObject({ username: "AWS", password: expect.any(String) });
    expect(JSON.stringify(result)).not.toContain(p.registryLogin!.password);
  });

  it("attaches ecsPolicyDocument to the user, with PassRole on the execution role only", async () => {
    await provisioner().apply(input(), () => {});
    const policy = local.state.data.iam.policies[`arn:aws:iam::${local.accountId}:policy/ferry-ecs-policy`]!;
    const role = local.state.data.iam.roles.FerryEcsTaskExecutionRole!;
    const document = policy.versions.find((v) => v.versionId === policy.defaultVersionId)!.document;
    expect(JSON.parse(decodeURIComponent(document))).toEqual(ecsPolicyDocument(local.accountId, role.arn));
    expect(local.state.data.iam.users["ferry-ecs-user"]!.attachedPolicies).toEqual([policy.arn]);
  });

  it("a second apply creates nothing and makes no new access key", async () => {
    await provisioner(async () => {}).apply(input(), () => {});
    const before = resources();
    local.clearCalls();
    const again = provisioner(async () => {
      throw new Error("no key may be made");
    });
    expect((await again.plan(input({ hasCredentials: true }))).every((s) => s.action === "exists")).toBe(true);
    const progress = recorder();
    const result = await again.apply(input({ hasCredentials: true }), progress.onProgress);
    expect(progress.events.every((e) => e.status === "skipped")).toBe(true);
    expect(writes()).toEqual([]);
    expect(resources()).toEqual(before);
    expect(result.credentials).toBeUndefined();
    expect(result.jobVariableDefaults).toMatchObject({ cluster: "ferry-ecs-cluster", vpc_id: expect.stringMatching(/^vpc-/) });
  });

  it("makes no network when the region has a default VPC", async () => {
    local.setDefaultVpc(true);
    const vpcsBefore = Object.keys(local.state.data.regions[REGION]?.ec2.vpcs ?? {});
    const plan = await provisioner().plan(input());
    expect(plan.find((s) => s.id === "vpc")).toMatchObject({ action: "exists", detail: "the region's default VPC" });
    expect(plan.some((s) => s.id === "subnets")).toBe(false);
    const result = await provisioner().apply(input(), () => {});
    expect(writes().filter((w) => w.startsWith("ec2:"))).toEqual([]);
    expect(Object.keys(local.state.data.regions[REGION]!.ec2.vpcs)).toEqual(vpcsBefore.length ? vpcsBefore : expect.any(Array));
    expect(result.jobVariableDefaults).not.toHaveProperty("vpc_id");
    expect(result.jobVariableDefaults).not.toHaveProperty("subnets");
  });

  it("resumes an apply interrupted after a step", async () => {
    const controller = new AbortController();
    const first = recorder();
    const error = await provisioner(async () => {})
      .apply(input({ signal: controller.signal }), (e) => {
        first.onProgress(e);
        if (e.step.id === "subnets" && e.status === "done") controller.abort();
      })
      .catch((e: unknown) => e);
    expect(isFerryError(error)).toBe(true);
    expect((error as Error).message).toMatch(/provisioning stopped at the route table ferry-ecs-vpc-public: provisioning was interrupted\. Made by this run before that: IAM role FerryEcsTaskExecutionRole, .*subnets ferry-ecs-vpc-\*\. .*run the same command again to resume/);
    expect(Object.keys(local.state.data.regions[REGION]!.ecr.repositories)).toEqual([]);

    local.clearCalls();
    const second = recorder();
    await provisioner(async () => {
      throw new Error("the first run's key was stored: no second key");
    }).apply(input({ hasCredentials: true }), second.onProgress);
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
    const error = await provisioner(async () => {}).apply(input(), progress.onProgress).catch((e: unknown) => e);
    expect(isFerryError(error, "provider_auth")).toBe(true);
    expect((error as Error).message).toMatch(
      /stopped at the IAM policy ferry-ecs-policy: your AWS identity lacks iam:CreatePolicy \(the IAM policy ferry-ecs-policy\); use an identity with administrator access for provisioning.*Made by this run before that: IAM role FerryEcsTaskExecutionRole, IAM user ferry-ecs-user\./,
    );
    expect(progress.statuses()).toEqual(["execution-role:done", "user:done", "policy:failed"]);

    const again = recorder();
    await provisioner(async () => {}).apply(input(), again.onProgress);
    expect(again.statuses().slice(0, 3)).toEqual(["execution-role:skipped", "user:skipped", "policy:done"]);
  });

  it("deletes a new key again when it cannot be stored", async () => {
    const error = await provisioner(async () => {
      throw new Error("server unreachable");
    })
      .apply(input(), () => {})
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/could not store the new access key, so it was deleted again: server unreachable/);
    expect(Object.values(local.state.data.iam.accessKeys)).toHaveLength(0);
  });
});

describe("deprovision against aws-local", () => {
  it("leaves the account as it was", async () => {
    const before = resources();
    await provisioner(async () => {}).apply(input(), () => {});
    expect(resources()).not.toEqual(before);

    const plan = await planDeprovision("p", awsOptions());
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
    await deprovision("p", { ...awsOptions(), onProgress: (e) => void (e.status === "done" && events.push(e.step.id)) });
    expect(events).toEqual(plan.map((s) => s.id));
    expect(resources()).toEqual(before);
  });

  it("leaves alone what is not tagged for the pool", async () => {
    await provisioner(async () => {}).apply(input({ poolName: "a" }), () => {});
    const before = resources();
    const plan = await planDeprovision("b", awsOptions());
    expect(plan.filter((s) => s.action === "delete")).toEqual([]);
    expect(plan.map((s) => s.id)).toEqual(["repository", "cluster", "policy", "user", "execution-role"]);
    await deprovision("b", awsOptions());
    expect(resources()).toEqual(before);
  });
});
