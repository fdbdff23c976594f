import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Credentials, FlowRun, ProviderInfo, WorkPool } from "@ferry/core";
import { ferry as runFerry, parseJson, startServer, type CliOptions, type CliResult, type ServerProcess } from "../../../apps/cli/test/cli-harness.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The one-file stub provider (fixtures/provider-stub, which passes both conformance suites in
// provider-stub.test.ts), installed the way an operator installs a provider: in the node_modules of the
// folder the server and the CLI run in. Nothing in the server or the CLI names it: the server loads it
// from FERRY_PROVIDERS, the CLI finds its ./client through the server's pool types.
const STUB = "@ferry-test/provider-stub";
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "provider-stub");

let home: string;
let project: string;
let cloudFile: string;
let server: ServerProcess;

const options = () => JSON.stringify({ [STUB]: { state: cloudFile } });
const ferry = (args: string[], extra: CliOptions = {}) => runFerry(args, { home, cwd: project, ...extra, env: { FERRY_PROVIDER_OPTIONS: options(), ...extra.env } });

interface Account {
  jobs: { id: string; key: string }[];
  resources: { id: string; kind: string; name: string; tags: Record<string, string> }[];
}
const account = async (): Promise<Account> => JSON.parse(await readFile(cloudFile, "utf8")) as Account;

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-stub-home-"));
  project = await mkdtemp(join(tmpdir(), "ferry-e2e-stub-project-"));
  cloudFile = join(project, "stub-cloud.json");
  await mkdir(join(project, "node_modules", "@ferry-test"), { recursive: true });
  await symlink(FIXTURE, join(project, "node_modules", STUB), "dir");
  await writeFile(join(project, "flow.py"), "def main():\n    return 42\n");
  server = await startServer(home, 60_000, { FERRY_PROVIDERS: STUB, FERRY_PROVIDER_OPTIONS: options() }, project);
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await rm(home, { recursive: true, force: true });
  await rm(project, { recursive: true, force: true });
});

describe("a new cloud is one package: the stub provider from the CLI", () => {
  it("is a pool type of the server, with its credentials type, from the plugin named in FERRY_PROVIDERS", async () => {
    const types = parseJson<(ProviderInfo & { can_provision: boolean })[]>(await ferry(["work-pool", "types", "--json"]));
    expect(types.find((t) => t.type === "stub:push")).toMatchObject({ plugin: STUB, credentials_type: "stub", managed: false, can_provision: true });
    const credentialTypes = await ferry(["credentials", "types", "--json"]);
    expectOk(credentialTypes);
    expect(credentialTypes.stdout).toContain('"stub"');
  });

  it("shows the provisioner's options as flags, and refuses a bad value before touching the cloud", async () => {
    const help = await ferry(["work-pool", "create", "--provision-infra", "--help"]);
    expectOk(help);
    expect(help.stdout).toMatch(/--network-name <value>\s+stub:push: network to make/);
    const bad = await ferry(["work-pool", "create", "s1", "--type", "stub:push", "--provision-infra", "--yes", "--network-name", "Not Valid"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--network-name 'Not Valid' is not valid/);
    await expect(readFile(cloudFile, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("work-pool create --provision-infra makes the cloud side, stores the key as credentials and fills the template", async () => {
    const created = await ferry(["work-pool", "create", "s1", "--type", "stub:push", "--provision-infra", "--yes", "--network-name", "net-a"]);
    expectOk(created);
    expect(created.stdout).toMatch(/^\s*1\s+network\s+net-a\s+create/m);
    expect(created.stderr).toMatch(/^✓ network net-a: created/m);
    expect(created.stderr).toMatch(/^✓ key s1-key: created/m);
    expect(created.stdout).toMatch(/Created work pool 's1' \(stub:push\) with credentials 's1-stub'/);

    const { resources } = await account();
    const network = resources.find((r) => r.kind === "network");
    expect(resources.map((r) => `${r.kind} ${r.name} ${r.tags["ferry-pool"]}`).sort()).toEqual(["key s1-key s1", "network net-a s1"]);
    const pool = parseJson<WorkPool>(await ferry(["work-pool", "inspect", "s1", "--json"]));
    expect(pool).toMatchObject({ type: "stub:push", credentials: "s1-stub" });
    expect(pool.base_job_template.variables.properties.network!.default).toBe(network!.id);
    const credentials = parseJson<Credentials>(await ferry(["credentials", "inspect", "s1-stub", "--json"]));
    expect(credentials).toMatchObject({ type: "stub", data: { key_id: expect.stringMatching(/^key-/), key_secret: "********" } });
  });

  it("runs a flow run on the stub cloud to COMPLETED with the pool's credentials", async () => {
    expectOk(await ferry(["deploy", "--name", "on-stub", "--entrypoint", "flow.py:main", "--pool", "s1", "--git-url", "https://example.com/acme/flows.git", "--branch", "main"]));
    const run = await ferry(["deployment", "run", "main/on-stub", "--watch"]);
    expectOk(run);
    const runs = parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--json"]));
    expect(runs[0]).toMatchObject({ deployment_name: "on-stub", state: { type: "COMPLETED" } });
    const { jobs } = await account();
    expect(jobs.map((j) => j.key)).toEqual([`ferry-${runs[0]!.id}`]);
  });

  it("provision-infra again creates nothing and makes no second key", async () => {
    const again = await ferry(["work-pool", "provision-infra", "s1", "--yes", "--network-name", "net-a"]);
    expectOk(again);
    expect(again.stderr).toMatch(/^– network net-a: exists/m);
    expect(again.stderr).toMatch(/^– key s1-key: exists/m);
    expect((await account()).resources.filter((r) => r.kind === "key")).toHaveLength(1);
  });

  it("deprovision removes what provisioning made for the pool, and only that", async () => {
    const before = await account();
    before.resources.push({ id: "network-of-someone-else", kind: "network", name: "theirs", tags: { "ferry-pool": "other" } });
    await writeFile(cloudFile, JSON.stringify(before));
    const removed = await ferry(["work-pool", "deprovision", "s1", "--yes", "--network-name", "net-a"]);
    expectOk(removed);
    expect(removed.stderr).toMatch(/^✓ key s1-key: removed/m);
    expect(removed.stderr).toMatch(/^✓ network net-a: removed/m);
    expect((await account()).resources.map((r) => r.id)).toEqual(["network-of-someone-else"]);
  });
});
