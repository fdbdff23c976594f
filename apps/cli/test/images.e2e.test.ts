import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Deployment, DeploymentApplyResult } from "@ferry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allOf, docker, registry, serviceCheck, type ServiceCheck } from "../../../test-support/services.js";
import { ACME_PROVIDER, installAcmeProvider } from "./acme-provider.js";
import { ferry as runFerry, parseJson, startServer, type CliOptions, type CliResult, type ServerProcess } from "./cli-harness.js";

// `ferry deploy` with a build section, as a user runs it: the real Docker daemon builds on the engine
// image, and a real registry receives the push: Debian's docker-registry on 127.0.0.1 at
// FERRY_TEST_REGISTRY, which `export FERRY_TEST_REGISTRY="$(bash scripts/registry-up.sh)"` starts and
// names.

const REGISTRY = process.env.FERRY_TEST_REGISTRY ?? "";
// The same registry under another name, which a provider's registry login serves (Docker takes any
// host that resolves to 127.0.0.0/8 as insecure, so both push over plain HTTP).
const LOGIN_REGISTRY = REGISTRY.replace(/^127\.0\.0\.1(?=:)/, "localhost");
const ENGINE_IMAGE = "ferry-engine:latest";
const run = promisify(execFile);

/** pip on this host: the build downloads the requirements' wheels with it before Docker builds. */
async function pip(): Promise<ServiceCheck> {
  try {
    await run("python3", ["-m", "pip", "--version"]);
    return serviceCheck(null);
  } catch {
    return serviceCheck("pip: python3 -m pip does not run; apt-get install python3-pip");
  }
}

describe("ferry deploy with a build section", allOf(await docker({ images: [ENGINE_IMAGE] }), await registry(), await pip()), () => {
  let home: string;
  let project: string;
  let server: ServerProcess;
  const tag = `t${randomBytes(6).toString("hex")}`;
  let journal: string;
  // The push pool's type comes from a provider package in the project, whose client plugin also logs in to LOGIN_REGISTRY.
  const ferry = (args: string[], options: CliOptions = {}) =>
    runFerry(args, {
      home,
      cwd: project,
      ...options,
      env: { ACME_JOURNAL: journal, FERRY_PROVIDER_OPTIONS: JSON.stringify({ [ACME_PROVIDER]: { state: join(project, "cloud.json"), registry: LOGIN_REGISTRY } }), ...options.env },
    });
  const journalLines = async () => (existsSync(journal) ? (await readFile(journal, "utf8")).trim().split("\n") : []);

  const expectOk = (result: CliResult) => expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "ferry-e2e-images-home-"));
    project = await mkdtemp(join(tmpdir(), "ferry-e2e-images-project-"));
    journal = join(project, "journal.txt");
    await installAcmeProvider(project);
    server = await startServer(home, 60_000, { FERRY_PROVIDERS: ACME_PROVIDER }, project);
    expectOk(await ferry(["work-pool", "create", "pushy", "--type", "acme:push"]));
    await writeFile(join(project, "requirements.txt"), "six\n");
    await writeFile(join(project, "flow.py"), "import six\n\ndef hello():\n    return six.__version__\n");
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop();
    await rm(home, { recursive: true, force: true });
    await rm(project, { recursive: true, force: true });
    await run("docker", ["image", "rm", "-f", `${REGISTRY}/ferry-flows/e2e:${tag}`, `${REGISTRY}/ferry-flows/e2e-bad:${tag}`, `${LOGIN_REGISTRY}/ferry-flows/e2e-login:${tag}`]).catch(
      () => undefined,
    );
  });

  const ferryYaml = (build: string) => `
source: { git_url: https://github.com/acme/flows.git, branch: main }
build:
${build}
deployments:
  - name: hello
    entrypoint: flow.py:hello
    work_pool: { name: pushy }
`;


  it("builds on the engine image with the requirements, pushes, and points the deployment at the pushed digest", async () => {
    await writeFile(join(project, "ferry.yaml"), ferryYaml(`  image: ${REGISTRY}/ferry-flows/e2e:${tag}`));
    const result = await ferry(["deploy", "--json"]);
    expectOk(result);
    const out = parseJson<{ image: { reference: string; digest: string; built: boolean }; deployments: DeploymentApplyResult[] }>(result);
    expect(out.image).toMatchObject({ built: true, digest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) });
    expect(out.image.reference).toBe(`${REGISTRY}/ferry-flows/e2e@${out.image.digest}`);
    expect(result.stderr).toMatch(/Step 1\/\d+ : FROM ferry-engine:latest/);
    expect(result.stderr).toMatch(/Step \d+\/\d+ : RUN python3 -m pip install .*--no-index/);
    expect(result.stderr).toMatch(/Pushed .*ferry-flows\/e2e:/);

    const tags = (await (await fetch(`http://${REGISTRY}/v2/ferry-flows/e2e/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(tag);

    const deployment = parseJson<Deployment>(await ferry(["deployment", "inspect", "hello/hello", "--json"]));
    expect(deployment.job_variables).toMatchObject({ image: out.image.reference });

    // The image has the requirements where the engine's Python finds them.
    const { stdout } = await run("docker", ["run", "--rm", "--entrypoint", "python3", out.image.reference, "-c", "import six; print(six.__version__)"]);
    expect(stdout.trim()).toMatch(/^\d+\.\d+/);

    // Same inputs, cached layers: the same digest, so nothing changes.
    const again = parseJson<{ image: { reference: string }; deployments: DeploymentApplyResult[] }>(await ferry(["deploy", "--json"]));
    expect(again.image.reference).toBe(out.image.reference);
    expect(again.deployments[0]!.action).toBe("unchanged");
  }, 300_000); // the first push of the engine image's layers to an empty registry is most of it

  it("logs in with the registry login of a provider's client plugin when one serves the registry", async () => {
    await writeFile(join(project, "ferry.yaml"), ferryYaml(`  image: ${LOGIN_REGISTRY}/ferry-flows/e2e-login:${tag}`));
    const before = (await journalLines()).length;
    const result = await ferry(["deploy", "--json"]);
    expectOk(result);
    expect((await journalLines()).slice(before)).toEqual(["imported", `login ${LOGIN_REGISTRY}`]);
    expect(parseJson<{ image: { reference: string } }>(result).image.reference).toMatch(new RegExp(`^${LOGIN_REGISTRY}/ferry-flows/e2e-login@sha256:`));
  }, 300_000);

  it("fails with the build's error when the Dockerfile is bad, and deploys nothing", async () => {
    await writeFile(join(project, "Dockerfile"), `FROM ${ENGINE_IMAGE}\nRUN echo "about to fail" && exit 3\n`);
    await writeFile(
      join(project, "ferry.yaml"),
      ferryYaml(`  image: ${REGISTRY}/ferry-flows/e2e-bad:${tag}\n  dockerfile: Dockerfile`).replace("name: hello", "name: bad"),
    );
    const result = await ferry(["deploy"]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^Error: building the image failed: .*returned a non-zero code: 3/m);
    expect(result.stderr).toMatch(/Nothing was deployed/);
    const missing = await ferry(["deployment", "inspect", "hello/bad", "--json"]);
    expect(missing.code).toBe(4);
  });

  it("names the fix when there is no image to push to", async () => {
    await writeFile(join(project, "ferry.yaml"), ferryYaml("  requirements: requirements.txt"));
    const result = await ferry(["deploy"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/build: no image to push to: set 'build.image: registry\/name:tag'.*default_image_namespace/);
  });
});
