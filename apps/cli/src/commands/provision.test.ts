import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FerryError, type BaseJobTemplate, type ProvisionInput, type ProvisionProgress, type ProvisionStep, type Provisioner } from "@ferry/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../program.js";
import { readProfiles, writeProfiles } from "@ferry/client-node";
import type { DeprovisionStep, ProvisionerSettings, ProvisioningBackend } from "../provisioning.js";
import { credentials, workPool } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions, type FakeRoute } from "../testing/fake-io.js";

const URL_ = "http://ferry.test";
const KEY = "fy_testkey_0123456789abcdefghijklmnop";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPROVISIONED";

const ECS_TEMPLATE: BaseJobTemplate = {
  variables: {
    type: "object",
    properties: {
      image: { type: "string", default: "ferry-engine:latest" },
      region: { type: ["string", "null"], default: null },
      cluster: { type: ["string", "null"], default: null },
      execution_role_arn: { type: ["string", "null"], default: null },
      vpc_id: { type: ["string", "null"], default: null },
      subnets: { type: "array", default: [] },
      security_groups: { type: "array", default: [] },
    },
  },
  job_configuration: { image: "{{ image }}", cluster: "{{ cluster }}" },
};

const TYPES = {
  items: [
    { type: "ferry:managed", description: "", managed: true, can_provision: false, credentials_type: null, default_base_job_template: ECS_TEMPLATE },
    { type: "ecs:push", description: "", managed: false, can_provision: true, credentials_type: "aws", default_base_job_template: ECS_TEMPLATE },
  ],
};

const STEPS: ProvisionStep[] = [
  { id: "execution-role", resource: "IAM role", name: "FerryEcsTaskExecutionRole", action: "exists" },
  { id: "access-key", resource: "IAM access key", name: "ferry-ecs-user", action: "create" },
  { id: "cluster", resource: "ECS cluster", name: "ferry-ecs-cluster", action: "create" },
];

const DEFAULTS = { region: "us-east-1", cluster: "ferry-ecs-cluster", execution_role_arn: "arn:aws:iam::1:role/FerryEcsTaskExecutionRole", vpc_id: "vpc-1", subnets: ["subnet-a"], security_groups: ["sg-1"] };

/** A provisioner that records what it was asked and plays the given outcome. */
class FakeProvisioner implements Provisioner {
  readonly type = "ecs:push";
  inputs: ProvisionInput[] = [];
  constructor(
    private readonly settings: ProvisionerSettings,
    private readonly failAt?: string,
  ) {}
  async plan(input: ProvisionInput): Promise<ProvisionStep[]> {
    this.inputs.push(input);
    return STEPS.map((s) => (s.id === "access-key" && input.hasCredentials ? { ...s, action: "exists" as const } : s));
  }
  async apply(input: ProvisionInput, onProgress: (e: ProvisionProgress) => void) {
    this.inputs.push(input);
    let made: Record<string, string> | undefined;
    for (const step of await this.plan(input)) {
      if (step.action === "exists") {
        onProgress({ step, status: "skipped" });
        continue;
      }
      onProgress({ step, status: "started" });
      if (step.id === this.failAt) {
        onProgress({ step, status: "failed", message: "no" });
        throw new FerryError("provider_auth", "provisioning stopped at the ECS cluster ferry-ecs-cluster: your AWS identity lacks ecs:CreateCluster. Made by this run before that: IAM access key ferry-ecs-user. Nothing is rolled back: run the same command again to resume");
      }
      if (step.id === "access-key") {
        made = { aws_access_key_id: "AKIAPROVISIONED", aws_secret_access_key: SECRET };
        await this.settings.saveCredentials({ type: "aws", data: made });
      }
      onProgress({ step, status: "done" });
    }
    return { jobVariableDefaults: DEFAULTS, ...(made ? { credentials: { type: "aws", data: made } } : {}), profile: { default_image_namespace: "1.dkr.ecr.us-east-1.amazonaws.com/ferry-flows" } };
  }
}

function fakeBackend(failAt?: string) {
  const made: FakeProvisioner[] = [];
  const removed: string[] = [];
  const plan: DeprovisionStep[] = [
    { id: "repository", resource: "ECR repository", name: "ferry-flows", action: "delete" },
    { id: "user", resource: "IAM user", name: "ferry-ecs-user", action: "keep", detail: "not tagged ferry:pool=p: left alone" },
  ];
  const backend: ProvisioningBackend = {
    provisioner(type, settings) {
      if (type !== "ecs:push") return null;
      const p = new FakeProvisioner(settings, failAt);
      made.push(p);
      return p;
    },
    planDeprovision: async () => plan,
    deprovision: async (_type, pool, settings) => {
      for (const step of plan) {
        if (step.action === "keep") settings.onProgress?.({ step, status: "skipped" });
        else {
          removed.push(`${pool}:${step.name}`);
          settings.onProgress?.({ step, status: "done" });
        }
      }
      return plan;
    },
  };
  return { backend, made, removed };
}

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-provision-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function setup(routes: Record<string, FakeRoute>, options: FakeIoOptions & { failAt?: string } = {}) {
  const server = fakeServer(routes);
  const fake = fakeBackend(options.failAt);
  const io = fakeIo({ ...options, env: { FERRY_HOME: home, FERRY_API_URL: URL_, FERRY_API_KEY: KEY, ...options.env }, fetch: server.fetch, provisioning: fake.backend });
  return { io, requests: server.requests, fake, run: (...argv: string[]) => run(argv, io) };
}

const notFound = () => json(404, { error: { code: "not_found", message: "not found" } });

const createRoutes = (extra: Record<string, FakeRoute> = {}): Record<string, FakeRoute> => ({
  "GET /api/work-pool-types": () => json(200, TYPES),
  "GET /api/work-pools/p": notFound,
  "GET /api/credentials/p-aws": notFound,
  "POST /api/credentials": (r) => json(201, credentials({ name: (r.body as { name: string }).name })),
  "POST /api/work-pools": (r) => json(201, workPool({ ...(r.body as object), type: "ecs:push" })),
  ...extra,
});

describe("work-pool create --provision-infra", () => {
  it("shows the plan, provisions, stores the key at once and creates the pool with the defaults", async () => {
    const { io, run, requests, fake } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes", "--region", "eu-west-1", "--cluster-name", "c1")).toBe(0);
    expect(io.out()).toMatch(/STEP\s+RESOURCE\s+NAME\s+ACTION/);
    expect(io.out()).toMatch(/ECS cluster\s+ferry-ecs-cluster\s+create/);
    expect(io.err()).toMatch(/^– IAM role FerryEcsTaskExecutionRole: exists$/m);
    expect(io.err()).toMatch(/^✓ ECS cluster ferry-ecs-cluster: created$/m);
    expect(fake.made[0]!.inputs[0]).toMatchObject({ poolName: "p", hasCredentials: false, options: { cluster_name: "c1" } });

    const paths = requests.filter((r) => r.method === "POST").map((r) => r.path);
    expect(paths).toEqual(["/api/credentials", "/api/work-pools"]);
    const pool = requests.find((r) => r.path === "/api/work-pools" && r.method === "POST")!.body as { credentials: string; base_job_template: BaseJobTemplate };
    expect(pool.credentials).toBe("p-aws");
    expect(pool.base_job_template.variables.properties.cluster!.default).toBe("ferry-ecs-cluster");
    expect(pool.base_job_template.variables.properties.subnets!.default).toEqual(["subnet-a"]);
    expect(pool.base_job_template.variables.properties.image!.default).toBe("ferry-engine:latest");
    expect(io.out() + io.err()).not.toContain(SECRET);
  });

  it("needs --yes when nobody can confirm, and makes nothing", async () => {
    const { io, run, requests, fake } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra")).toBe(2);
    expect(io.err()).toMatch(/pass --yes when not running on a terminal/);
    expect(fake.made[0]!.inputs).toHaveLength(1); // the plan, no apply
    expect(requests.filter((r) => r.method === "POST")).toEqual([]);
  });

  it("asks on a terminal and makes nothing on no", async () => {
    const { io, run, fake } = setup(createRoutes(), { stdinIsTTY: true, confirm: false });
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra")).toBe(1);
    expect(io.prompts).toEqual(["Create these 2 AWS resources?"]);
    expect(fake.made[0]!.inputs).toHaveLength(1);
  });

  it("does not create the pool when provisioning fails, and says a re-run resumes", async () => {
    const { io, run, requests } = setup(createRoutes(), { failAt: "cluster" });
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes")).toBe(1);
    expect(io.err()).toMatch(/^✗ ECS cluster ferry-ecs-cluster: failed$/m);
    expect(io.err()).toMatch(/Error: provisioning stopped at the ECS cluster .*run the same command again to resume/);
    expect(io.err()).toMatch(/stored as credentials 'p-aws'; a re-run uses it/);
    expect(requests.some((r) => r.method === "POST" && r.path === "/api/work-pools")).toBe(false);
  });

  it("makes no second key when an earlier run stored one", async () => {
    const { run, requests, fake } = setup(createRoutes({ "GET /api/credentials/p-aws": () => json(200, credentials({ name: "p-aws" })) }));
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes")).toBe(0);
    expect(fake.made[0]!.inputs[0]!.hasCredentials).toBe(true);
    expect(requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual(["/api/work-pools"]);
    expect((requests.find((r) => r.path === "/api/work-pools" && r.method === "POST")!.body as { credentials: string }).credentials).toBe("p-aws");
  });

  it("refuses a type the server does not know, naming FERRY_PROVIDERS", async () => {
    const { io, run } = setup(createRoutes({ "GET /api/work-pool-types": () => json(200, { items: [TYPES.items[0]] }) }));
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes")).toBe(4);
    expect(io.err()).toMatch(/'ecs:push' is not available on this server.*FERRY_PROVIDERS/);
  });

  it("refuses an existing pool, pointing at provision-infra", async () => {
    const { io, run } = setup(createRoutes({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", type: "ecs:push" })) }));
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes")).toBe(5);
    expect(io.err()).toMatch(/ferry work-pool provision-infra p/);
  });

  it("saves the image namespace in the active profile", async () => {
    await writeProfiles(join(home, "profiles.json"), { active: "local", profiles: { local: { api_url: URL_, api_key: KEY } } });
    const { run } = setup(createRoutes(), { env: { FERRY_API_URL: undefined, FERRY_API_KEY: undefined } });
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes")).toBe(0);
    expect((await readProfiles(join(home, "profiles.json"))).profiles.local).toMatchObject({ api_key: KEY, default_image_namespace: "1.dkr.ecr.us-east-1.amazonaws.com/ferry-flows" });
  });

  it("prints the plan and result, without the secret, with --json", async () => {
    const { io, run } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes", "--json")).toBe(0);
    const out = JSON.parse(io.out());
    expect(out.plan).toEqual(STEPS);
    expect(out.result).toEqual({ job_variable_defaults: DEFAULTS, profile: { default_image_namespace: "1.dkr.ecr.us-east-1.amazonaws.com/ferry-flows" }, credentials: "p-aws" });
    expect(out.work_pool).toMatchObject({ name: "p", credentials: "p-aws" });
    expect(io.out()).not.toContain(SECRET);
  });

  it("refuses provisioning flags without --provision-infra", async () => {
    const { io, run } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "ecs:push", "--cluster-name", "x")).toBe(2);
    expect(io.err()).toMatch(/--cluster-name only applies with --provision-infra/);
  });
});

describe("work-pool provision-infra", () => {
  it("fills an existing pool's template and sets credentials only when it had none", async () => {
    const existing = workPool({ name: "p", type: "ecs:push", base_job_template: ECS_TEMPLATE, credentials: null });
    const { run, requests } = setup({
      "GET /api/work-pools/p": () => json(200, existing),
      "GET /api/credentials/p-aws": notFound,
      "POST /api/credentials": () => json(201, credentials({ name: "p-aws" })),
      "PATCH /api/work-pools/p": (r) => json(200, { ...existing, ...(r.body as object) }),
    });
    expect(await run("work-pool", "provision-infra", "p", "--yes")).toBe(0);
    const patch = requests.find((r) => r.method === "PATCH")!.body as { credentials?: string; base_job_template: BaseJobTemplate };
    expect(patch.credentials).toBe("p-aws");
    expect(patch.base_job_template.variables.properties.execution_role_arn!.default).toBe(DEFAULTS.execution_role_arn);
  });

  it("keeps a pool's own credentials and makes no key", async () => {
    const existing = workPool({ name: "p", type: "ecs:push", base_job_template: ECS_TEMPLATE, credentials: "mine" });
    const { run, requests, fake } = setup({
      "GET /api/work-pools/p": () => json(200, existing),
      "PATCH /api/work-pools/p": (r) => json(200, { ...existing, ...(r.body as object) }),
    });
    expect(await run("work-pool", "provision-infra", "p", "--yes")).toBe(0);
    expect(fake.made[0]!.inputs[0]!.hasCredentials).toBe(true);
    expect(requests.find((r) => r.method === "PATCH")!.body).not.toHaveProperty("credentials");
    expect(requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("refuses a pool type that cannot be provisioned", async () => {
    const { io, run } = setup({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", credentials: "x" })) });
    expect(await run("work-pool", "provision-infra", "p", "--yes")).toBe(2);
    expect(io.err()).toMatch(/'ferry:managed' cannot be provisioned/);
  });
});

describe("work-pool deprovision", () => {
  it("shows what is tagged for the pool, then removes only that", async () => {
    const { io, run, fake } = setup({});
    expect(await run("work-pool", "deprovision", "p", "--yes")).toBe(0);
    expect(io.out()).toMatch(/ECR repository\s+ferry-flows\s+delete/);
    expect(io.out()).toMatch(/IAM user\s+ferry-ecs-user\s+keep/);
    expect(io.err()).toMatch(/^✓ ECR repository ferry-flows: removed$/m);
    expect(io.err()).toMatch(/^– IAM user ferry-ecs-user: left alone$/m);
    expect(fake.removed).toEqual(["p:ferry-flows"]);
  });

  it("needs --yes when nobody can confirm", async () => {
    const { io, run, fake } = setup({});
    expect(await run("work-pool", "deprovision", "p")).toBe(2);
    expect(io.err()).toMatch(/refusing to remove AWS resources without confirmation; pass --yes/);
    expect(fake.removed).toEqual([]);
  });
});
