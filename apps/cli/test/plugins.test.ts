import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Credentials, WorkPool } from "@ferry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACME_PROVIDER, installAcmeProvider } from "./acme-provider.js";
import { ferry as runFerry, parseJson, startServer, type CliOptions, type CliResult, type ServerProcess } from "./cli-harness.js";

// The bundled CLI finds a provider's client plugin as a user installs it: in the project's
// node_modules, named by the server's pool type; nothing in the CLI names the provider.
let home: string;
let project: string;
let journal: string;
let state: string;
let server: ServerProcess;
const ferry = (args: string[], options: CliOptions = {}) =>
  runFerry(args, {
    home,
    cwd: project,
    ...options,
    env: { ACME_JOURNAL: journal, FERRY_PROVIDER_OPTIONS: JSON.stringify({ [ACME_PROVIDER]: { state } }), ...options.env },
  });
const journalLines = async () => (existsSync(journal) ? (await readFile(journal, "utf8")).trim().split("\n") : []);

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-plugins-home-"));
  project = await mkdtemp(join(tmpdir(), "ferry-e2e-plugins-project-"));
  journal = join(project, "journal.txt");
  state = join(project, "cloud.json");
  await installAcmeProvider(project);
  server = await startServer(home, 60_000, { FERRY_PROVIDERS: ACME_PROVIDER }, project);
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await rm(home, { recursive: true, force: true });
  await rm(project, { recursive: true, force: true });
});

describe("a provider's client plugin, from the CLI", () => {
  it("is not imported by commands that do not provision", async () => {
    expectOk(await ferry(["work-pool", "create", "managed", "--type", "ferry:managed"]));
    expectOk(await ferry(["work-pool", "ls"]));
    expectOk(await ferry(["work-pool", "get-default-base-job-template", "--type", "acme:push"]));
    expectOk(await ferry(["work-pool", "--help"]));
    expect(await journalLines()).toEqual([]);
  });

  it("shows the provider's options as flags in --help", async () => {
    const help = await ferry(["work-pool", "create", "--provision-infra", "--help"]);
    expectOk(help);
    expect(help.stdout).toMatch(/--cluster-name <value>\s+acme:push: cluster the pool's runs go to/);
    expect(help.stdout).toMatch(/Types with a provisioner here: acme:push \(@acme\/ferry-provider\)/);
    expect(await journalLines()).toEqual(["imported"]);
  });

  it("provisions and creates a pool, storing the key as NAME-keypair, and a re-run makes no second key", async () => {
    const created = await ferry(["work-pool", "create", "acme", "--type", "acme:push", "--provision-infra", "--yes", "--cluster-name", "c1"]);
    expectOk(created);
    expect(created.stderr).toMatch(/^✓ cluster c1: created$/m);
    expect(created.stdout).toMatch(/Created work pool 'acme' \(acme:push\) with credentials 'acme-keypair'/);
    const pool = parseJson<WorkPool>(await ferry(["work-pool", "inspect", "acme", "--json"]));
    expect(pool).toMatchObject({ credentials: "acme-keypair" });
    expect(pool.base_job_template.variables.properties.cluster!.default).toBe("c1");
    expect(parseJson<Credentials>(await ferry(["credentials", "inspect", "acme-keypair", "--json"])).data).toEqual({ key_id: "acme-key", private_key: "********" });

    const again = await ferry(["work-pool", "provision-infra", "acme", "--yes", "--cluster-name", "c1"]);
    expectOk(again);
    expect(again.stderr).toMatch(/^– cluster c1: exists$/m);
    expect((await journalLines()).filter((l) => l.startsWith("apply"))).toEqual(["apply hasCredentials=false", "apply hasCredentials=true"]);
  });

  it("checks the provider's options before anything is touched", async () => {
    const bad = await ferry(["work-pool", "provision-infra", "acme", "--yes", "--cluster-name", "Not Valid"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid options for acme:push: --cluster-name 'Not Valid' is not valid/);
    const unknown = await ferry(["work-pool", "provision-infra", "acme", "--yes", "--zone", "z"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--zone'/);
  });

  it("removes what provisioning made for the pool, by its plugin", async () => {
    const removed = await ferry(["work-pool", "deprovision", "acme", "--yes"]);
    expectOk(removed);
    expect(removed.stderr).toMatch(/^✓ cluster c1: removed$/m);
    expect(removed.stdout).toMatch(/Removed 2 cloud resources of pool 'acme'/);
    expect(JSON.parse(await readFile(state, "utf8"))).toEqual({ resources: [] });
  });

  it("says why when a type's plugin is not installed where the CLI runs", async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), "ferry-e2e-plugins-elsewhere-"));
    try {
      const result = await ferry(["work-pool", "provision-infra", "acme", "--yes"], { cwd: elsewhere });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/its plugin '@acme\/ferry-provider' \(from the server \(pool type acme:push\)\) is not installed here: run 'npm i @acme\/ferry-provider' in /);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
