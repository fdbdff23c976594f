import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FerryError,
  type BaseJobTemplate,
  type FerryClientPlugin,
  type ProviderInfo,
  type ProvisionInput,
  type ProvisionOptionsSchema,
  type ProvisionProgress,
  type ProvisionStep,
  type Provisioner,
  type RemovalInput,
  type RemovalProgress,
  type RemovalStep,
} from "@ferry/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../program.js";
import { ClientPlugins, readProfiles, writeProfiles, type ClientPluginModule, type UnavailableClientPlugin } from "@ferry/client-node";
import { credentials, workPool } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions, type FakeRoute } from "../testing/fake-io.js";

const URL_ = "http://ferry.test";
const KEY = "fy_testkey_0123456789abcdefghijklmnop";
const SECRET = "PROVISIONED-PRIVATE-KEY-0123456789";

const ACME_TEMPLATE: BaseJobTemplate = {
  variables: {
    type: "object",
    properties: {
      image: { type: "string", default: "ferry-engine:latest" },
      cluster: { type: ["string", "null"], default: null },
      network: { type: ["string", "null"], default: null },
      subnets: { type: "array", default: [] },
    },
  },
  job_configuration: { image: "{{ image }}", cluster: "{{ cluster }}" },
};

const poolType = (type: string, plugin: string | null, credentials_type: string | null = null): ProviderInfo => ({
  type,
  description: "",
  managed: type.endsWith(":managed"),
  credentials_type,
  plugin,
  default_base_job_template: ACME_TEMPLATE,
});

const TYPES = {
  items: [poolType("ferry:managed", null), poolType("acme:push", "@acme/provider", "keypair"), poolType("beta:push", "@beta/provider", "token")],
};

const STEPS: ProvisionStep[] = [
  { id: "role", resource: "role", name: "ferry-runner", action: "exists" },
  { id: "key", resource: "key pair", name: "ferry-acme-key", action: "create" },
  { id: "cluster", resource: "cluster", name: "ferry-cluster", action: "create" },
];

const DEFAULTS = { cluster: "ferry-cluster", network: "net-1", subnets: ["subnet-a"] };
const NAMESPACE = "registry.example.com/ferry-flows";

const ACME_OPTIONS: ProvisionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    cluster_name: { type: "string", description: "cluster the runs use", default: "ferry-cluster", pattern: "^[a-z0-9-]{1,20}$" },
    network_name: { type: "string", description: "network made when there is none" },
  },
};

const BETA_OPTIONS: ProvisionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    cluster_name: { type: "string", description: "cluster the runs use", default: "ferry-cluster" },
    zone: { type: "string", description: "where the runs go" },
  },
};

/** A provisioner that records what it was asked and plays the given outcome. */
class FakeProvisioner implements Provisioner {
  inputs: ProvisionInput[] = [];
  removals: RemovalInput[] = [];
  removed: string[] = [];
  constructor(
    readonly type: string,
    readonly optionsSchema: ProvisionOptionsSchema,
    private readonly failAt?: string,
  ) {}

  async plan(input: ProvisionInput): Promise<ProvisionStep[]> {
    this.inputs.push(input);
    return STEPS.map((s) => (s.id === "key" && input.hasCredentials ? { ...s, action: "exists" as const } : s));
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
        throw new FerryError("provider_auth", "provisioning stopped at the cluster ferry-cluster: your identity may not create clusters. Made by this run before that: key pair ferry-acme-key. Nothing is rolled back: run the same command again to resume");
      }
      if (step.id === "key") {
        made = { key_id: "KEY1", private_key: SECRET };
        await input.saveCredentials?.({ type: "keypair", data: made });
      }
      onProgress({ step, status: "done" });
    }
    return { jobVariableDefaults: DEFAULTS, ...(made ? { credentials: { type: "keypair", data: made } } : {}), profile: { default_image_namespace: NAMESPACE } };
  }

  readonly removalPlan: RemovalStep[] = [
    { id: "registry", resource: "registry", name: "ferry-flows", action: "delete" },
    { id: "user", resource: "user", name: "ferry-acme-user", action: "keep", detail: "not tagged for pool p: left alone" },
  ];

  async planRemoval(input: RemovalInput): Promise<RemovalStep[]> {
    this.removals.push(input);
    return this.removalPlan;
  }

  async remove(input: RemovalInput, onProgress: (e: RemovalProgress) => void): Promise<RemovalStep[]> {
    this.removals.push(input);
    for (const step of this.removalPlan) {
      if (step.action === "keep") onProgress({ step, status: "skipped" });
      else {
        this.removed.push(`${input.poolName}:${step.name}`);
        onProgress({ step, status: "done" });
      }
    }
    return this.removalPlan.filter((s) => s.action === "delete");
  }
}

/** Client plugins made in memory, as `loadClientPlugins` makes them from modules; it records what it was asked. */
function fakePlugins({ failAt, unavailable = [] }: { failAt?: string; unavailable?: UnavailableClientPlugin[] } = {}) {
  const acme = new FakeProvisioner("acme:push", ACME_OPTIONS, failAt);
  const beta = new FakeProvisioner("beta:push", BETA_OPTIONS);
  const plugin = (p: Provisioner): FerryClientPlugin => ({ name: p.type, create: () => ({ provisioners: [p] }) });
  const asked: ClientPluginModule[][] = [];
  const load = async (modules: readonly ClientPluginModule[]) => {
    asked.push([...modules]);
    return ClientPlugins.create(
      [
        { name: "@acme/provider", plugin: plugin(acme) },
        { name: "@beta/provider", plugin: plugin(beta) },
      ],
      {},
      unavailable,
    );
  };
  return { acme, beta, asked, load };
}

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-provision-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function setup(routes: Record<string, FakeRoute>, options: FakeIoOptions & { failAt?: string; unavailable?: UnavailableClientPlugin[] } = {}) {
  const server = fakeServer({ "GET /api/work-pool-types": () => json(200, TYPES), ...routes });
  const plugins = fakePlugins(options);
  const io = fakeIo({ ...options, env: { FERRY_HOME: home, FERRY_API_URL: URL_, FERRY_API_KEY: KEY, ...options.env }, fetch: server.fetch, loadClientPlugins: plugins.load });
  return { io, requests: server.requests, plugins, run: (...argv: string[]) => run(argv, io) };
}

const notFound = () => json(404, { error: { code: "not_found", message: "not found" } });

const createRoutes = (extra: Record<string, FakeRoute> = {}): Record<string, FakeRoute> => ({
  "GET /api/work-pools/p": notFound,
  "GET /api/credentials/p-keypair": notFound,
  "POST /api/credentials": (r) => json(201, credentials({ name: (r.body as { name: string }).name })),
  "POST /api/work-pools": (r) => json(201, workPool({ ...(r.body as object), type: "acme:push" })),
  ...extra,
});

describe("work-pool create --provision-infra", () => {
  it("shows the plan, provisions, stores the key at once and creates the pool with the defaults", async () => {
    const { io, run, requests, plugins } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes", "--cluster-name", "c1")).toBe(0);
    expect(io.out()).toMatch(/STEP\s+RESOURCE\s+NAME\s+ACTION/);
    expect(io.out()).toMatch(/cluster\s+ferry-cluster\s+create/);
    expect(io.err()).toMatch(/^– role ferry-runner: exists$/m);
    expect(io.err()).toMatch(/^✓ cluster ferry-cluster: created$/m);
    expect(plugins.acme.inputs[0]).toMatchObject({ poolName: "p", hasCredentials: false, options: { cluster_name: "c1" } });

    const posts = requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => r.path)).toEqual(["/api/credentials", "/api/work-pools"]);
    expect(posts[0]!.body).toEqual({ name: "p-keypair", type: "keypair", data: { key_id: "KEY1", private_key: SECRET } });
    const pool = posts[1]!.body as { credentials: string; base_job_template: BaseJobTemplate };
    expect(pool.credentials).toBe("p-keypair");
    expect(pool.base_job_template.variables.properties.cluster!.default).toBe("ferry-cluster");
    expect(pool.base_job_template.variables.properties.subnets!.default).toEqual(["subnet-a"]);
    expect(pool.base_job_template.variables.properties.image!.default).toBe("ferry-engine:latest");
    expect(io.out() + io.err()).not.toContain(SECRET);
  });

  it("loads the client plugins of the server's pool types, FERRY_PROVIDERS and the profile's providers", async () => {
    await writeProfiles(join(home, "profiles.json"), { active: "local", profiles: { local: { api_url: URL_, api_key: KEY, providers: ["@gamma/provider", "@beta/provider"] } } });
    const { run, plugins } = setup(createRoutes(), { env: { FERRY_API_URL: undefined, FERRY_API_KEY: undefined, FERRY_PROVIDERS: "@delta/provider" } });
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes")).toBe(0);
    expect(plugins.asked).toEqual([
      [
        { name: "@acme/provider", from: "the server (pool type acme:push)" },
        { name: "@beta/provider", from: "the server (pool type beta:push)" },
        { name: "@delta/provider", from: "FERRY_PROVIDERS" },
        { name: "@gamma/provider", from: "profile 'local' (providers)" },
      ],
    ]);
  });

  it("needs --yes when nobody can confirm, and makes nothing", async () => {
    const { io, run, requests, plugins } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra")).toBe(2);
    expect(io.err()).toMatch(/refusing to create cloud resources without confirmation: stdin is not a terminal; pass --yes to confirm/);
    expect(plugins.acme.inputs).toHaveLength(1); // the plan, no apply
    expect(requests.filter((r) => r.method === "POST")).toEqual([]);
  });

  it("asks on a terminal and makes nothing on no", async () => {
    const { io, run, plugins } = setup(createRoutes(), { stdinIsTTY: true, confirm: false });
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra")).toBe(1);
    expect(io.prompts).toEqual(["Create these 2 cloud resources?"]);
    expect(plugins.acme.inputs).toHaveLength(1);
  });

  it("does not create the pool when provisioning fails, and says a re-run resumes", async () => {
    const { io, run, requests } = setup(createRoutes(), { failAt: "cluster" });
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes")).toBe(1);
    expect(io.err()).toMatch(/^✗ cluster ferry-cluster: failed$/m);
    expect(io.err()).toMatch(/Error: provisioning stopped at the cluster .*run the same command again to resume/);
    expect(io.err()).toMatch(/The new credentials are stored as 'p-keypair'; a re-run uses them and makes no other key/);
    expect(requests.some((r) => r.method === "POST" && r.path === "/api/work-pools")).toBe(false);
  });

  it("makes no second key when an earlier run stored one", async () => {
    const { run, requests, plugins } = setup(createRoutes({ "GET /api/credentials/p-keypair": () => json(200, credentials({ name: "p-keypair" })) }));
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes")).toBe(0);
    expect(plugins.acme.inputs[0]!.hasCredentials).toBe(true);
    expect(requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual(["/api/work-pools"]);
    expect((requests.find((r) => r.path === "/api/work-pools" && r.method === "POST")!.body as { credentials: string }).credentials).toBe("p-keypair");
  });

  it("refuses a type the server does not know, naming FERRY_PROVIDERS", async () => {
    const { io, run } = setup(createRoutes({ "GET /api/work-pool-types": () => json(200, { items: [TYPES.items[0]] }) }));
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes")).toBe(4);
    expect(io.err()).toMatch(/'acme:push' is not available on this server.*FERRY_PROVIDERS/);
  });

  it("lists the types that have a provisioner when the type has none", async () => {
    const unavailable: UnavailableClientPlugin[] = [
      { name: "@other/provider", from: "the server (pool type other:push)", reason: "no_client_export", message: "its plugin '@other/provider' (from the server (pool type other:push)) has no './client' export" },
    ];
    const routes = createRoutes({ "GET /api/work-pool-types": () => json(200, { items: [...TYPES.items, poolType("other:push", "@other/provider")] }) });
    const { io, run, requests } = setup(routes, { unavailable });
    expect(await run("work-pool", "create", "p", "--type", "other:push", "--provision-infra", "--yes")).toBe(2);
    expect(io.err()).toMatch(/pool type 'other:push' cannot be provisioned from here: its plugin '@other\/provider' .*has no '\.\/client' export; types with a provisioner here: acme:push, beta:push/);
    expect(requests.filter((r) => r.method !== "GET")).toEqual([]);

    expect(await run("work-pool", "create", "m", "--type", "ferry:managed", "--provision-infra", "--yes")).toBe(2);
    expect(io.err()).toMatch(/--provision-infra is for push pools, and 'ferry:managed' is not one .*types with a provisioner here: acme:push, beta:push/);
  });

  it("refuses an existing pool, pointing at provision-infra", async () => {
    const { io, run } = setup(createRoutes({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", type: "acme:push" })) }));
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes")).toBe(5);
    expect(io.err()).toMatch(/ferry work-pool provision-infra p/);
  });

  it("saves the image namespace in the active profile", async () => {
    await writeProfiles(join(home, "profiles.json"), { active: "local", profiles: { local: { api_url: URL_, api_key: KEY } } });
    const { run } = setup(createRoutes(), { env: { FERRY_API_URL: undefined, FERRY_API_KEY: undefined } });
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes")).toBe(0);
    expect((await readProfiles(join(home, "profiles.json"))).profiles.local).toMatchObject({ api_key: KEY, default_image_namespace: NAMESPACE });
  });

  it("prints the plan and result, without the secret, with --json", async () => {
    const { io, run } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes", "--json")).toBe(0);
    const out = JSON.parse(io.out());
    expect(out.plan).toEqual(STEPS);
    expect(out.result).toEqual({ job_variable_defaults: DEFAULTS, profile: { default_image_namespace: NAMESPACE }, credentials: "p-keypair" });
    expect(out.work_pool).toMatchObject({ name: "p", credentials: "p-keypair" });
    expect(io.out()).not.toContain(SECRET);
  });

  it("checks the provider options against the pool's type before anything is touched", async () => {
    const { io, run, requests, plugins } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes", "--zone", "z1")).toBe(2);
    expect(io.err()).toMatch(/--zone is not an option of acme:push; its options: --cluster-name, --network-name/);
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--provision-infra", "--yes", "--cluster-name", "Not Valid")).toBe(2);
    expect(io.err()).toMatch(/invalid options for acme:push: --cluster-name 'Not Valid' is not valid: cluster the runs use/);
    expect(plugins.acme.inputs).toEqual([]);
    expect(requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(requests.some((r) => r.path === "/api/work-pools/p")).toBe(false);
  });

  it("refuses provider options without --provision-infra, saying where they apply", async () => {
    const { io, run, plugins } = setup(createRoutes());
    expect(await run("work-pool", "create", "p", "--type", "acme:push", "--cluster-name", "x")).toBe(2);
    expect(io.err()).toMatch(/unknown option '--cluster-name'/);
    expect(io.err()).toMatch(/Hint: provider options apply only with --provision-infra/);
    expect(plugins.asked).toEqual([]);
  });
});

describe("provider options in --help", () => {
  it("turns each provisioner's options into flags, one flag for an option two types share", async () => {
    const { io, run } = setup({});
    expect(await run("work-pool", "create", "--provision-infra", "--help")).toBe(0);
    const help = io.out();
    expect(help).toMatch(/Provider options \(from the providers' client plugins\):/);
    expect(help).toMatch(/--cluster-name <value>\s+acme:push, beta:push: cluster the runs use\s+\(default ferry-cluster\)/);
    expect(help).toMatch(/--network-name <value>\s+acme:push: network made when there is none/);
    expect(help).toMatch(/--zone <value>\s+beta:push: where the runs go/);
    expect(help.match(/--cluster-name/g)).toHaveLength(1);
    expect(help).toMatch(/Types with a provisioner here: acme:push \(@acme\/provider\), beta:push \(@beta\/provider\)\./);
  });

  it("shows the flags of FERRY_PROVIDERS and says so when the server cannot be reached", async () => {
    const io = fakeIo({ env: { FERRY_HOME: home, FERRY_API_URL: "http://127.0.0.1:9", FERRY_API_KEY: KEY, FERRY_PROVIDERS: "@acme/provider" }, loadClientPlugins: fakePlugins().load, fetch: async () => { throw new TypeError("fetch failed"); } });
    expect(await run(["work-pool", "deprovision", "--help"], io)).toBe(0);
    expect(io.out()).toMatch(/--cluster-name <value>/);
    expect(io.out()).toMatch(/The server's pool types were not read \(.*\): only FERRY_PROVIDERS and the profile's providers were loaded\./);
  });

  it("loads no plugin for commands that do not provision", async () => {
    const { run, plugins } = setup({ "GET /api/work-pools": () => json(200, { items: [] }) });
    expect(await run("work-pool", "ls")).toBe(0);
    expect(await run("work-pool", "--help")).toBe(0);
    expect(await run("work-pool", "create", "--help")).toBe(0);
    expect(plugins.asked).toHaveLength(1); // only the create --help
  });
});

describe("work-pool provision-infra", () => {
  it("fills an existing pool's template and sets credentials only when it had none", async () => {
    const existing = workPool({ name: "p", type: "acme:push", base_job_template: ACME_TEMPLATE, credentials: null });
    const { run, requests } = setup({
      "GET /api/work-pools/p": () => json(200, existing),
      "GET /api/credentials/p-keypair": notFound,
      "POST /api/credentials": () => json(201, credentials({ name: "p-keypair" })),
      "PATCH /api/work-pools/p": (r) => json(200, { ...existing, ...(r.body as object) }),
    });
    expect(await run("work-pool", "provision-infra", "p", "--yes")).toBe(0);
    const patch = requests.find((r) => r.method === "PATCH")!.body as { credentials?: string; base_job_template: BaseJobTemplate };
    expect(patch.credentials).toBe("p-keypair");
    expect(patch.base_job_template.variables.properties.network!.default).toBe(DEFAULTS.network);
  });

  it("keeps a pool's own credentials and makes no key", async () => {
    const existing = workPool({ name: "p", type: "acme:push", base_job_template: ACME_TEMPLATE, credentials: "mine" });
    const { run, requests, plugins } = setup({
      "GET /api/work-pools/p": () => json(200, existing),
      "PATCH /api/work-pools/p": (r) => json(200, { ...existing, ...(r.body as object) }),
    });
    expect(await run("work-pool", "provision-infra", "p", "--yes")).toBe(0);
    expect(plugins.acme.inputs[0]!.hasCredentials).toBe(true);
    expect(requests.find((r) => r.method === "PATCH")!.body).not.toHaveProperty("credentials");
    expect(requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("refuses a pool type that has no cloud side", async () => {
    const { io, run } = setup({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", credentials: "x" })) });
    expect(await run("work-pool", "provision-infra", "p", "--yes")).toBe(2);
    expect(io.err()).toMatch(/pool 'p' is of type ferry:managed: Ferry runs its flows, there is no cloud side to provision/);
  });
});

describe("work-pool deprovision", () => {
  it("shows what carries the pool's tag, then removes only that, with the pool's own type", async () => {
    const { io, run, plugins, requests } = setup({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", type: "beta:push" })) });
    expect(await run("work-pool", "deprovision", "p", "--yes", "--zone", "z1")).toBe(0);
    expect(io.out()).toMatch(/registry\s+ferry-flows\s+delete/);
    expect(io.out()).toMatch(/user\s+ferry-acme-user\s+keep/);
    expect(io.err()).toMatch(/^✓ registry ferry-flows: removed$/m);
    expect(io.err()).toMatch(/^– user ferry-acme-user: left alone$/m);
    expect(io.out()).not.toMatch(/Ferry credentials/);
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    expect(plugins.beta.removed).toEqual(["p:ferry-flows"]);
    expect(plugins.beta.removals[0]).toMatchObject({ poolName: "p", options: { zone: "z1" } });
    expect(plugins.acme.removals).toEqual([]);
  });

  it("deletes the credentials provisioning stored for the pool, shown in the plan", async () => {
    const { io, run, requests } = setup({
      "GET /api/work-pools/p": notFound,
      "GET /api/credentials/p-token": () => json(200, credentials({ name: "p-token", type: "token" })),
      "DELETE /api/credentials/p-token": () => json(200, { deleted: true }),
    });
    expect(await run("work-pool", "deprovision", "p", "--yes", "--type", "beta:push"), io.err()).toBe(0);
    expect(io.out()).toMatch(/Ferry credentials\s+p-token\s+delete\s+stored by provisioning/);
    expect(io.err()).toMatch(/^✓ Ferry credentials p-token: removed$/m);
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/credentials/p-token"]);
  });

  it("leaves stored credentials a pool still uses, saying in which order to remove them", async () => {
    const { io, run } = setup({
      "GET /api/work-pools/p": () => json(200, workPool({ name: "p", type: "beta:push", credentials: "p-token" })),
      "GET /api/credentials/p-token": () => json(200, credentials({ name: "p-token", type: "token" })),
      "DELETE /api/credentials/p-token": () => json(409, { error: { code: "conflict", message: "credentials 'p-token' are in use by work pool 'p'; change those first" } }),
    });
    expect(await run("work-pool", "deprovision", "p", "--yes")).toBe(0);
    expect(io.err()).toMatch(/^– Ferry credentials p-token: left alone \(credentials 'p-token' are in use by work pool 'p'; change those first\); remove them with 'ferry work-pool delete p' then 'ferry credentials delete p-token'$/m);
    expect(io.out()).toMatch(/Removed 1 cloud resources of pool 'p'/);
  });

  it("gives removal the pool's template defaults, so it looks where provisioning made things (its region)", async () => {
    const template: BaseJobTemplate = {
      variables: {
        type: "object",
        properties: { region: { type: "string", default: "eu-north-1", description: "r" }, cluster: { type: "string", default: "c1", description: "c" }, image: { type: "string", description: "i" } },
      },
      job_configuration: {},
    };
    const { run, plugins } = setup({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", type: "beta:push", base_job_template: template })) });
    expect(await run("work-pool", "deprovision", "p", "--yes")).toBe(0);
    expect(plugins.beta.removals[0]).toMatchObject({ poolName: "p", poolDefaults: { region: "eu-north-1", cluster: "c1" } });
    expect(plugins.beta.removals[0]!.poolDefaults).not.toHaveProperty("image");
  });

  it("needs --type when the pool is gone: there is no default type", async () => {
    const { io, run, plugins } = setup({ "GET /api/work-pools/p": notFound });
    expect(await run("work-pool", "deprovision", "p", "--yes")).toBe(2);
    expect(io.err()).toMatch(/work pool 'p' does not exist \(any more\): give its type with --type TYPE \(types with a provisioner here: acme:push, beta:push\)/);
    expect(await run("work-pool", "deprovision", "p", "--yes", "--type", "acme:push")).toBe(0);
    expect(plugins.acme.removed).toEqual(["p:ferry-flows"]);
  });

  it("needs --yes when nobody can confirm", async () => {
    const { io, run, plugins } = setup({ "GET /api/work-pools/p": () => json(200, workPool({ name: "p", type: "acme:push" })) });
    expect(await run("work-pool", "deprovision", "p")).toBe(2);
    expect(io.err()).toMatch(/refusing to remove cloud resources without confirmation: stdin is not a terminal; pass --yes/);
    expect(plugins.acme.removed).toEqual([]);
  });
});
