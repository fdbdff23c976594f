import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Credentials, WorkPool } from "@ferry/core";
import { startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, startServer, transcript, type CliResult, type ServerProcess } from "../../../apps/cli/test/cli-harness.js";

// `ferry work-pool create --type azure-container-instance:push --provision-infra` as a user runs it:
// their Azure identity in the environment (DefaultAzureCredential's environment credential), the
// official Azure SDK inside the CLI, and Azure's endpoints (here @ferry/azure-local, without Docker:
// provisioning runs no container group) given as the plugin's options, its CA trusted by the process.
let home: string;
let server: ServerProcess;
let local: AzureLocal;
let userEnv: Record<string, string>;
let before: unknown;

const ferry = (args: string[]) => runFerry(args, { home, env: userEnv });
const PROVIDER_OPTIONS = () => JSON.stringify({ "@ferry/provider-azure": { endpoint: local.url, authorityHost: local.url, graphEndpoint: local.url } });

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

const poolSecrets = () => local.snapshot().applications.filter((a) => a.displayName === "ferry-aci-push-az").map((a) => a.secrets);

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-aci-provision-"));
  local = await startAzureLocal({ docker: null });
  const ca = join(home, "azure-local-ca.pem");
  await writeFile(ca, local.caPem);
  userEnv = {
    AZURE_TENANT_ID: local.tenantId,
    AZURE_CLIENT_ID: local.ownerCredential.clientId,
    AZURE_CLIENT_SECRET: local.ownerCredential.clientSecret,
    AZURE_SUBSCRIPTION_ID: local.subscriptionId,
    AZURE_AUTHORITY_HOST: local.url,
    // Nothing from the machine's own Azure CLI sign-in.
    AZURE_CONFIG_DIR: join(home, "no-azure-config"),
    NODE_EXTRA_CA_CERTS: ca,
    FERRY_PROVIDER_OPTIONS: PROVIDER_OPTIONS(),
  };
  before = local.snapshot();
  server = await startServer(home, 60_000, { FERRY_PROVIDERS: "@ferry/provider-azure", FERRY_PROVIDER_OPTIONS: PROVIDER_OPTIONS(), NODE_EXTRA_CA_CERTS: ca });
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await local?.close();
  await rm(home, { recursive: true, force: true });
});

describe("ferry work-pool create --provision-infra (azure-container-instance:push) against azure-local", () => {
  it("provisions, then creates the pool with its credentials and the template wired to the registry and identity", async () => {
    const result = await ferry(["work-pool", "create", "az", "--type", "azure-container-instance:push", "--provision-infra", "--yes"]);
    expectOk(result);
    expect(result.stdout).toMatch(/RESOURCE\s+NAME\s+ACTION/);
    expect(result.stderr).toMatch(/^✓ resource group ferry-aci-push-pool-rg: created/m);
    expect(result.stderr).toMatch(/^✓ container registry ferry[0-9a-f]{12}: created/m);
    expect(result.stdout).toMatch(/Created work pool 'az' \(azure-container-instance:push\) with credentials 'az-azure'/);

    const pool = parseJson<WorkPool>(await ferry(["work-pool", "inspect", "az", "--json"]));
    expect(pool).toMatchObject({ type: "azure-container-instance:push", credentials: "az-azure" });
    const vars = pool.base_job_template.variables.properties;
    expect(vars.resource_group_name!.default).toBe("ferry-aci-push-pool-rg");
    expect(vars.subscription_id!.default).toBe(local.subscriptionId);
    expect(vars.identities!.default).toEqual([expect.stringMatching(/\/userAssignedIdentities\/ferry-acr-identity$/)]);
    expect(vars.image_registry!.default).toMatchObject({ login_server: expect.stringMatching(/^ferry[0-9a-f]{12}\./) });

    expect(poolSecrets()).toEqual([1]);
    const credentials = parseJson<Credentials>(await ferry(["credentials", "inspect", "az-azure", "--json"]));
    expect(credentials).toMatchObject({ type: "azure", data: { tenant_id: local.tenantId, subscription_id: local.subscriptionId, client_secret: "********" } });
    const profiles = JSON.parse(await readFile(join(home, "profiles.json"), "utf8"));
    expect(profiles.profiles.local.default_image_namespace).toMatch(/^ferry[0-9a-f]{12}\./);
    expect(transcript.join("\n")).not.toContain(local.ownerCredential.clientSecret);
  });

  it("provision-infra again finds everything and makes no second secret", async () => {
    const result = await ferry(["work-pool", "provision-infra", "az", "--json"]);
    expectOk(result);
    const out = JSON.parse(result.stdout) as { plan: { action: string }[] };
    expect(out.plan.every((s) => s.action === "exists")).toBe(true);
    expect(poolSecrets()).toEqual([1]);
  });

  it("resumes an interrupted provisioning: the second run makes the rest, and one secret in all", async () => {
    expectOk(await ferry(["work-pool", "create", "half", "--type", "azure-container-instance:push"]));
    local.injectFault({ operation: "UserAssignedIdentities_CreateOrUpdate", status: 403, code: "AuthorizationFailed", message: "not now", times: 1 });
    const failed = await ferry(["work-pool", "provision-infra", "half", "--yes", "--resource-group-name", "half-rg"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/managed identity ferry-acr-identity/);
    const resumed = await ferry(["work-pool", "provision-infra", "half", "--yes", "--resource-group-name", "half-rg"]);
    expectOk(resumed);
    expect(resumed.stderr).toMatch(/^✓ managed identity ferry-acr-identity: created/m);
    expect(local.snapshot().applications.filter((a) => a.displayName === "ferry-aci-push-half").map((a) => a.secrets)).toEqual([1]);
    expectOk(await ferry(["work-pool", "deprovision", "half", "--yes"]));
  });

  it("deprovision removes what is tagged for the pool: the subscription is as it was", async () => {
    const result = await ferry(["work-pool", "deprovision", "az", "--yes"]);
    expectOk(result);
    expect(result.stderr).toMatch(/^✓ resource group ferry-aci-push-pool-rg: removed/m);
    const sorted = (s: unknown) => JSON.parse(JSON.stringify(s), (_k, v: unknown) => (Array.isArray(v) ? [...v].map((x) => JSON.stringify(x)).sort() : v)) as unknown;
    expect(sorted(local.snapshot())).toEqual(sorted(before));
  });
});
