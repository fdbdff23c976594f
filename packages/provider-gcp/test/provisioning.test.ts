import { startGcpLocal, NEW_PROJECT_SERVICES, type GcpLocal } from "@ferry/gcp-local";
import { describeProvisionerConformance } from "@ferry/provider-kit/conformance";
import { afterEach, describe, expect, it } from "vitest";
import { keyAuthClient } from "../src/auth.js";
import { serviceAccountKeyFrom } from "../src/credentials.js";
import { createCloudRunProvisioner } from "../src/provisioning/cloud-run-provisioner.js";
import { sdkProvisioningApi } from "../src/provisioning/sdk-provisioning-api.js";

// The provisioner, through the official clients (gRPC over TLS, IAM over REST), against @ferry/gcp-local
// serving an empty project (only the services a new project has), with the project owner's key as the
// user's application default credentials. No executions run, so no container engine is needed.
const started: GcpLocal[] = [];

async function emptyProject(): Promise<GcpLocal> {
  const local = await startGcpLocal({ docker: null, enabledServices: NEW_PROJECT_SERVICES });
  started.push(local);
  return local;
}

const endpoint = (local: GcpLocal) => ({ apiEndpoint: local.apiEndpoint, port: local.grpcPort, caPem: local.caPem, restUrl: local.httpUrl });
const provisionerOn = (local: GcpLocal) => createCloudRunProvisioner({ ...endpoint(local), credentials: local.ownerKey as unknown as Record<string, unknown>, retryBaseDelayMs: 10 });

/** The first write of each step, refused for good (retrying does not help). */
const STEP_WRITES: Record<string, { service: string; method: string }> = {
  "service-account": { service: "iam", method: "CreateServiceAccount" },
  services: { service: "ServiceUsage", method: "BatchEnableServices" },
  "iam-roles": { service: "Projects", method: "SetIamPolicy" },
  key: { service: "iam", method: "CreateServiceAccountKey" },
  repository: { service: "ArtifactRegistry", method: "CreateRepository" },
};

/** What provisioning must leave alone: a repository and an account of the user's own, a repository another pool made, another member's role. */
async function seedForeign(local: GcpLocal): Promise<void> {
  const api = sdkProvisioningApi(endpoint(local), keyAuthClient(serviceAccountKeyFrom(local.ownerKey as unknown as Record<string, string>)));
  try {
    await api.enableServices(local.projectId, ["artifactregistry.googleapis.com", "iam.googleapis.com"]);
    const parent = `projects/${local.projectId}/locations/us-central1`;
    await api.createRepository(parent, "team-images", { team: "data" }, "the team's own");
    await api.createRepository(parent, "other-images", { "ferry-pool": "someone-else", "managed-by": "ferry" }, "another pool's");
    await api.createServiceAccount(local.projectId, "team-robot", "Team robot", "the team's own robot");
    const policy = await api.getIamPolicy(local.projectId);
    await api.setIamPolicy(local.projectId, { ...policy, bindings: [...(policy.bindings ?? []), { role: "roles/run.developer", members: ["user:alice@example.com"] }] });
  } finally {
    await api.close();
  }
}

afterEach(async () => {
  await Promise.allSettled(started.splice(0).map((l) => l.close()));
});

describeProvisionerConformance("the cloud-run:push provisioner on gcp-local", async () => {
  const local = await emptyProject();
  return {
    provisioner: provisionerOn(local),
    snapshot: async () => local.snapshot(),
    failAt: (stepId) => {
      const write = STEP_WRITES[stepId];
      if (!write) throw new Error(`no write known for step ${stepId}`);
      local.injectFault({ ...write, code: "PERMISSION_DENIED", message: "refused by the test", times: 1 });
    },
    seedForeign: () => seedForeign(local),
    cleanup: () => local.close(),
  };
});

describe("the cloud-run:push provisioner", () => {
  it("makes the APIs, the account with its roles and one key, and the repository, all with the user's own identity", async () => {
    const local = await emptyProject();
    const saved: { type: string; data: Record<string, string> }[] = [];
    const result = await provisionerOn(local).apply(
      { poolName: "gcr", options: {}, hasCredentials: false, saveCredentials: async (c) => void saved.push(c) },
      () => undefined,
    );
    const email = `ferry-cloud-run@${local.projectId}.iam.gserviceaccount.com`;
    const snap = local.snapshot();
    expect(snap.enabledServices).toEqual(expect.arrayContaining(["run.googleapis.com", "artifactregistry.googleapis.com"]));
    expect(snap.repositories).toContainEqual({ name: `projects/${local.projectId}/locations/us-central1/repositories/ferry-images`, format: "DOCKER", labels: { "ferry-pool": "gcr", "managed-by": "ferry" } });
    expect(snap.serviceAccounts).toContainEqual({ email, description: expect.stringContaining("ferry:pool=gcr"), userManagedKeys: 1 });
    for (const role of ["roles/run.developer", "roles/iam.serviceAccountUser", "roles/logging.viewer"]) {
      expect(snap.iamBindings.find((b) => b.role === role)?.members).toContain(`serviceAccount:${email}`);
    }
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ type: "gcp", data: { client_email: email, project_id: local.projectId, private_key: expect.stringContaining("PRIVATE KEY") } });
    expect(result).toEqual({
      jobVariableDefaults: { project: local.projectId, region: "us-central1" },
      profile: { default_image_namespace: `us-central1-docker.pkg.dev/${local.projectId}/ferry-images` },
      credentials: saved[0],
    });
    // Every call was made with the user's own identity.
    expect(new Set(local.calls().map((c) => c.principal))).toEqual(new Set([local.ownerKey.client_email]));
  });

  it("removal turns off only the APIs its own provisioning turned on", async () => {
    const local = await startGcpLocal({ docker: null });
    started.push(local);
    const before = local.snapshot();
    const provisioner = provisionerOn(local);
    await provisioner.apply({ poolName: "gcr", options: {}, hasCredentials: true }, () => undefined);
    const plan = await provisioner.planRemoval({ poolName: "gcr", options: {} });
    expect(plan.map((s) => s.resource)).not.toContain("APIs");
    await provisioner.remove({ poolName: "gcr", options: {} }, () => undefined);
    expect(local.snapshot()).toEqual(before);
  });

  it("two pools share what Ferry made: the first one's removal leaves it to the second, the second's removes it all", async () => {
    const local = await emptyProject();
    const empty = local.snapshot();
    const provisioner = provisionerOn(local);
    await provisioner.apply({ poolName: "first", options: {}, hasCredentials: true }, () => undefined);
    const planned = await provisioner.plan({ poolName: "second", options: {}, hasCredentials: true });
    expect(planned.filter((s) => s.action === "create").map((s) => s.id)).toEqual(["service-account", "repository"]);
    await provisioner.apply({ poolName: "second", options: {}, hasCredentials: true }, () => undefined);
    const shared = local.snapshot();

    const removal = await provisioner.planRemoval({ poolName: "first", options: {} });
    expect(removal.map((s) => [s.resource, s.action, s.detail])).toEqual([
      ["Artifact Registry repository", "delete", "used by pool 'second' too: only this pool's label is removed"],
      ["service account", "delete", "used by pool 'second' too: only this pool's mark is removed"],
    ]);
    await provisioner.remove({ poolName: "first", options: {} }, () => undefined);
    const left = local.snapshot();
    expect(left.enabledServices).toEqual(shared.enabledServices);
    expect(left.iamBindings).toEqual(shared.iamBindings);
    expect(left.repositories.map((r) => r.labels)).toEqual([{ "ferry-pool": "second", "managed-by": "ferry" }]);
    expect(left.serviceAccounts.find((a) => a.email.startsWith("ferry-cloud-run@"))?.description).toMatch(/ferry:pool=second/);
    expect(left.serviceAccounts.find((a) => a.email.startsWith("ferry-cloud-run@"))?.description).not.toMatch(/ferry:pool=first/);

    await provisioner.remove({ poolName: "second", options: {} }, () => undefined);
    expect(local.snapshot()).toEqual(empty);
  });

  it("removal looks in the project and region the pool's defaults name", async () => {
    const local = await emptyProject();
    const provisioner = provisionerOn(local);
    await provisioner.apply({ poolName: "gcr", options: { region: "europe-west1" }, hasCredentials: true }, () => undefined);
    const plan = await provisioner.planRemoval({ poolName: "gcr", options: {}, poolDefaults: { project: local.projectId, region: "europe-west1" } });
    expect(plan.find((s) => s.resource === "Artifact Registry repository")).toMatchObject({ action: "delete", name: "ferry-images" });
  });

  it("names the fix when the user's identity may not provision", async () => {
    const local = await emptyProject();
    local.injectFault({ service: "iam", method: "CreateServiceAccount", code: "PERMISSION_DENIED", message: "Permission 'iam.serviceAccounts.create' denied", times: 1 });
    const error = await provisionerOn(local)
      .apply({ poolName: "gcr", options: {}, hasCredentials: true }, () => undefined)
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/your Google identity may not do CreateServiceAccount/);
    expect((error as Error).message).toMatch(/service account ferry-cloud-run/);
  });
});
