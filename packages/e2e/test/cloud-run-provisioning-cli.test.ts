import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Credentials, WorkPool } from "@ferry/core";
import { NEW_PROJECT_SERVICES, startGcpLocal, type GcpLocal, type GcpLocalSnapshot } from "@ferry/gcp-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, startServer, transcript, type CliResult, type ServerProcess } from "../../../apps/cli/test/cli-harness.js";

// `ferry work-pool create --type cloud-run:push --provision-infra` as a user runs it: their application
// default credentials in the environment (GOOGLE_APPLICATION_CREDENTIALS: here the key of gcp-local's
// project owner), Google's official clients inside the CLI, pointed at @ferry/gcp-local through the
// plugin's options. The project starts empty: only the APIs a new project has.
let home: string;
let server: ServerProcess;
let local: GcpLocal;
let env: Record<string, string>;
let empty: GcpLocalSnapshot;

const ferry = (args: string[]) => runFerry(args, { home, env });
/** Keys of the pool's service account (the project owner's own key is one of the project's too). */
const keysOf = (snapshot: GcpLocalSnapshot) => snapshot.serviceAccounts.filter((a) => a.email.startsWith("ferry-cloud-run@")).reduce((n, a) => n + a.userManagedKeys, 0);

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-cloud-run-provision-"));
  local = await startGcpLocal({ docker: null, enabledServices: NEW_PROJECT_SERVICES });
  empty = local.snapshot();
  const adc = join(home, "application_default_credentials.json");
  await writeFile(adc, JSON.stringify(local.ownerKey), { mode: 0o600 });
  const options = JSON.stringify({ "@ferry/provider-gcp": { apiEndpoint: local.apiEndpoint, port: local.grpcPort, caPem: local.caPem, restUrl: local.httpUrl } });
  env = {
    GOOGLE_APPLICATION_CREDENTIALS: adc,
    // Nothing from the machine's own gcloud configuration.
    CLOUDSDK_CONFIG: join(home, "no-gcloud-config"),
    FERRY_PROVIDER_OPTIONS: options,
  };
  server = await startServer(home, 60_000, { FERRY_PROVIDERS: "@ferry/provider-gcp", FERRY_PROVIDER_OPTIONS: options });
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await local?.close();
  await rm(home, { recursive: true, force: true });
});

describe("ferry work-pool create --provision-infra (cloud-run:push) against gcp-local", () => {
  it("stops at a refused step naming it, keeping the key it stored; run again, it resumes and creates the pool", async () => {
    local.injectFault({ service: "ArtifactRegistry", method: "CreateRepository", code: "PERMISSION_DENIED", message: "Permission 'artifactregistry.repositories.create' denied", times: 1 });
    const failed = await ferry(["work-pool", "create", "gcr", "--type", "cloud-run:push", "--provision-infra", "--yes"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/Artifact Registry repository ferry-images/);
    expect(failed.stderr).toMatch(/again/);
    expect(keysOf(local.snapshot())).toBe(1);

    const result = await ferry(["work-pool", "create", "gcr", "--type", "cloud-run:push", "--provision-infra", "--yes"]);
    expectOk(result);
    expect(result.stderr).toMatch(/Artifact Registry repository ferry-images: created/);
    expect(result.stdout).toMatch(/Created work pool 'gcr' \(cloud-run:push\) with credentials 'gcr-gcp'/);
    // The key stored by the interrupted run is the pool's: no second one.
    expect(keysOf(local.snapshot())).toBe(1);

    const pool = parseJson<WorkPool>(await ferry(["work-pool", "inspect", "gcr", "--json"]));
    expect(pool).toMatchObject({ type: "cloud-run:push", credentials: "gcr-gcp" });
    expect(pool.base_job_template.variables.properties.project!.default).toBe(local.projectId);
    expect(pool.base_job_template.variables.properties.region!.default).toBe("us-central1");

    const snapshot = local.snapshot();
    const email = `ferry-cloud-run@${local.projectId}.iam.gserviceaccount.com`;
    expect(snapshot.enabledServices).toEqual(expect.arrayContaining(["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"]));
    expect(snapshot.repositories.map((r) => r.labels)).toEqual([{ "ferry-pool": "gcr", "managed-by": "ferry" }]);
    expect(snapshot.iamBindings.filter((b) => b.members.includes(`serviceAccount:${email}`)).map((b) => b.role).sort()).toEqual([
      "roles/iam.serviceAccountUser",
      "roles/logging.viewer",
      "roles/run.developer",
    ]);
    const credentials = parseJson<Credentials>(await ferry(["credentials", "inspect", "gcr-gcp", "--json"]));
    expect(credentials).toMatchObject({ type: "gcp", data: { client_email: email, project_id: local.projectId, private_key: "********" } });

    const profiles = JSON.parse(await readFile(join(home, "profiles.json"), "utf8"));
    expect(profiles.profiles.local.default_image_namespace).toBe(`us-central1-docker.pkg.dev/${local.projectId}/ferry-images`);
    // Every call of provisioning was made with the user's own identity.
    expect(new Set(local.calls().filter((c) => c.service !== "oauth2").map((c) => c.principal))).toEqual(new Set([local.ownerKey.client_email]));
    expect(transcript.join("\n")).not.toContain("PRIVATE KEY-----\n");
  });

  it("provision-infra on the pool finds everything and makes no second key", async () => {
    const result = await ferry(["work-pool", "provision-infra", "gcr", "--json"]);
    expectOk(result);
    const out = JSON.parse(result.stdout) as { plan: { action: string }[] };
    expect(out.plan.length).toBe(5);
    expect(out.plan.every((s) => s.action === "exists")).toBe(true);
    expect(keysOf(local.snapshot())).toBe(1);
  });

  it("deprovision returns the project to how it was", async () => {
    const result = await ferry(["work-pool", "deprovision", "gcr", "--yes"]);
    expectOk(result);
    expect(result.stderr).toMatch(/service account ferry-cloud-run: removed/);
    expect(local.snapshot()).toEqual(empty);
  });
});
