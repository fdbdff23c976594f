import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FerryError, type ProviderInfo } from "@ferry/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageBackend, ImageBuildPlan } from "../images/image-build.js";
import { run } from "../program.js";
import { ClientPlugins, writeProfiles, type ClientPluginModule } from "@ferry/client-node";
import { deployment, workPool } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions } from "../testing/fake-io.js";

const DIGEST = `sha256:${"d".repeat(64)}`;
const CLOUD = "123456789012.registry.example.com";

const ACME_TYPE = { type: "acme:push", description: "", managed: false, credentials_type: "keypair", plugin: "@acme/provider", default_base_job_template: { variables: { type: "object", properties: {} }, job_configuration: {} } } satisfies ProviderInfo;

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-images-"));
  await writeFile(join(home, "requirements.txt"), "six\n");
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const yaml = (build: string, pool = "managed") => `
name: ETL Flows
source: { git_url: https://github.com/acme/flows.git, branch: main }
build: ${build}
deployments:
  - { name: nightly, entrypoint: flows/etl.py:etl, work_pool: { name: ${pool}, job_variables: { pip_packages: [pandas] } } }
`;

/** A backend that records plans and answers with a digest, or fails like a bad build. */
function fakeBackend(fail?: string): ImageBackend & { plans: ImageBuildPlan[]; lines: string[] } {
  const plans: ImageBuildPlan[] = [];
  return {
    plans,
    lines: [],
    async buildAndPush(plan, progress) {
      plans.push(plan);
      progress("Step 1/2 : FROM ferry-engine:latest");
      if (fail) throw new FerryError("validation_failed", `building the image failed: ${fail}\nNothing was deployed.`);
      return { digest: DIGEST };
    },
  };
}

async function setup(options: FakeIoOptions & { pool?: ReturnType<typeof workPool>; namespace?: string } = {}) {
  await writeProfiles(join(home, "profiles.json"), {
    active: "local",
    profiles: { local: { api_url: "http://ferry.test", api_key: "fy_testkey_0123456789abcdefghijklmnop", ...(options.namespace ? { default_image_namespace: options.namespace } : {}) } },
  });
  const server = fakeServer({
    "GET /api/work-pools/managed": () => json(200, options.pool ?? workPool()),
    "GET /api/work-pool-types": () => json(200, { items: [ACME_TYPE] }),
    "PUT /api/deployments": (r) => json(200, { deployment: deployment(r.body as object), action: "created" }),
  });
  const io = fakeIo({ ...options, cwd: home, env: { FERRY_HOME: home, ...options.env }, fetch: server.fetch });
  return { io, requests: server.requests, run: (...argv: string[]) => run(argv, io) };
}

const puts = (requests: { method: string; body?: unknown }[]) => requests.filter((r) => r.method === "PUT").map((r) => r.body as { job_variables: Record<string, unknown> });

describe("deploy with a build section", () => {
  it("builds, pushes, and gives every deployment the pushed image by digest", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml("{ image: '127.0.0.1:5000/ferry-flows/etl:v1' }"));
    const images = fakeBackend();
    const { io, run, requests } = await setup({ images });
    expect(await run("deploy", "--json")).toBe(0);
    expect(images.plans).toHaveLength(1);
    expect(images.plans[0]).toMatchObject({
      target: { reference: "127.0.0.1:5000/ferry-flows/etl:v1" },
      platform: "linux/amd64",
      source: { kind: "generated", baseImage: "ferry-engine:latest", requirementsPath: join(home, "requirements.txt") },
      auth: null,
    });
    const reference = `127.0.0.1:5000/ferry-flows/etl@${DIGEST}`;
    expect(puts(requests)[0]!.job_variables).toEqual({ pip_packages: ["pandas"], image: reference });
    expect(JSON.parse(io.out())).toMatchObject({ image: { reference, digest: DIGEST, built: true }, deployments: [{ action: "created" }] });
    expect(io.err()).toMatch(/Step 1\/2 : FROM ferry-engine:latest/);
  });

  it("names the image after the project in the profile's namespace, and logs in with the provider's registry login", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml("{}"));
    const images = fakeBackend();
    const asked: { modules: string[]; registries: string[] } = { modules: [], registries: [] };
    const { run, requests } = await setup({
      images,
      namespace: `${CLOUD}/ferry-flows`,
      env: { FERRY_PROVIDERS: "@beta/provider" },
      loadClientPlugins: async (modules: readonly ClientPluginModule[]) => {
        asked.modules.push(...modules.map((m) => m.name));
        const login = {
          description: "Acme registry",
          matches: (registry: string) => registry.endsWith(".registry.example.com"),
          login: async (registry: string) => (asked.registries.push(registry), { username: "acme", password: "secret" }),
        };
        return ClientPlugins.create([{ name: "@acme/provider", plugin: { name: "acme", create: () => ({ registryLogins: [login] }) } }]);
      },
    });
    expect(await run("deploy")).toBe(0);
    expect(asked).toEqual({ modules: ["@acme/provider", "@beta/provider"], registries: [CLOUD] });
    expect(images.plans[0]!.target.reference).toMatch(new RegExp(`^${CLOUD}/ferry-flows/etl-flows:ferry-[a-f0-9]{12}$`));
    expect(images.plans[0]!.auth).toEqual({ username: "acme", password: "secret", serveraddress: CLOUD });
    expect(images.plans[0]!.authFrom).toBe("Acme registry");
    expect(puts(requests)[0]!.job_variables.image).toBe(`${CLOUD}/ferry-flows/etl-flows@${DIGEST}`);
  });

  it("checks the pools before building, and applies nothing when the build fails", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml("{ image: 'r.example.com/a:v1' }"));
    const strict = workPool({
      base_job_template: { variables: { type: "object", properties: { pip_packages: { type: "array" } } }, job_configuration: {} },
    });
    const first = fakeBackend();
    const refused = await setup({ images: first, pool: strict });
    expect(await refused.run("deploy")).toBe(2);
    expect(refused.io.err()).toMatch(/image is not a known field; nothing was applied/);
    expect(first.plans).toEqual([]);

    const failing = await setup({ images: fakeBackend("The command '/bin/sh -c exit 3' returned a non-zero code: 3") });
    expect(await failing.run("deploy")).toBe(2);
    expect(failing.io.err()).toMatch(/^Error: building the image failed: .*non-zero code: 3\nNothing was deployed\./m);
    expect(puts(failing.requests)).toEqual([]);
  });

  it("with --no-build, deploys the tag an earlier deploy pushed without touching Docker", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml("{ image: 'r.example.com/a:v1' }"));
    const images = fakeBackend();
    const { io, run, requests } = await setup({ images });
    expect(await run("deploy", "--no-build")).toBe(0);
    expect(images.plans).toEqual([]);
    expect(puts(requests)[0]!.job_variables.image).toBe("r.example.com/a:v1");
    expect(io.err()).toMatch(/Warning: --no-build: deployments get r\.example\.com\/a:v1/);
  });

  it("says how to name the image when neither build.image nor a namespace is there, before any request", async () => {
    await writeFile(join(home, "ferry.yaml"), yaml("{}"));
    const { io, run, requests } = await setup({ images: fakeBackend() });
    expect(await run("deploy")).toBe(2);
    expect(io.err()).toMatch(/build: no image to push to: set 'build\.image: registry\/name:tag' in ferry\.yaml, or give profile 'local' a default namespace/);
    expect(requests).toEqual([]);
  });

  it("explains a missing requirements file", async () => {
    await rm(join(home, "requirements.txt"));
    await writeFile(join(home, "ferry.yaml"), yaml("{ image: 'r.example.com/a:v1' }"));
    const { io, run } = await setup({ images: fakeBackend() });
    expect(await run("deploy")).toBe(2);
    expect(io.err()).toMatch(/build\.requirements: requirements\.txt was not found in .*; add it, set build\.requirements, or set build\.dockerfile/);
  });
});
