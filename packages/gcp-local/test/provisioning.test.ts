import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactRegistryClient } from "@google-cloud/artifact-registry";
import { ProjectsClient } from "@google-cloud/resource-manager";
import { v2 } from "@google-cloud/run";
import { ServiceUsageClient } from "@google-cloud/service-usage";
import { grpc } from "google-gax";
import { NEW_PROJECT_SERVICES, startGcpLocal, type GcpLocal, type ServiceAccountKeyFile } from "../src/index.js";
import { authClient, clientOptions } from "./helpers.js";

interface RestAccount {
  email: string;
  description: string;
}

/** Provisioning as Ferry does it, on an empty project, with the official clients and IAM's REST API. */
describe("provisioning services: Service Usage, Artifact Registry, Resource Manager, IAM", () => {
  let local: GcpLocal;
  let usage: ServiceUsageClient;
  let registry: ArtifactRegistryClient;
  let projects: ProjectsClient;
  let project: string;
  const iam = (key: ServiceAccountKeyFile) => authClient(key);
  const iamUrl = (path: string) => `${local.httpUrl}/v1/projects/${local.projectId}/${path}`;

  beforeAll(async () => {
    local = await startGcpLocal({ docker: null, enabledServices: NEW_PROJECT_SERVICES, operationDelayMs: 50 });
    const options = clientOptions(local, local.ownerKey);
    // service-usage and resource-manager ship an older google-gax and google-auth-library: the option types differ, not the shape.
    usage = new ServiceUsageClient(options as never);
    registry = new ArtifactRegistryClient(options);
    projects = new ProjectsClient(options as never);
    project = `projects/${local.projectId}`;
  });

  afterAll(async () => {
    await Promise.all([usage?.close(), registry?.close(), projects?.close()]);
    await local?.close();
  });

  it("an empty project refuses Cloud Run, Artifact Registry and IAM calls, saying which API to enable", async () => {
    const jobs = new v2.JobsClient(clientOptions(local, local.ownerKey));
    await expect(jobs.getJob({ name: `${project}/locations/us-central1/jobs/x` })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining("Cloud Run Admin API has not been used in project 123456789012 before or it is disabled") });
    await jobs.close();
    await expect(registry.getRepository({ name: `${project}/locations/us-central1/repositories/ferry-images` })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await expect(iam(local.ownerKey).request({ url: iamUrl("serviceAccounts") })).rejects.toMatchObject({ status: 403 });
    const [service] = await usage.getService({ name: `${project}/services/run.googleapis.com` });
    expect(service).toMatchObject({ name: "projects/123456789012/services/run.googleapis.com", state: "DISABLED" });
  });

  it("answers GetProject by id or number, and refuses another project", async () => {
    const [byId] = await projects.getProject({ name: project });
    expect(byId).toMatchObject({ name: "projects/123456789012", projectId: local.projectId, state: "ACTIVE" });
    const [byNumber] = await projects.getProject({ name: "projects/123456789012" });
    expect(byNumber.projectId).toBe(local.projectId);
    await expect(projects.getProject({ name: "projects/someone-else" })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it("enables services through operations that finish later", async () => {
    const [operation] = await usage.batchEnableServices({ parent: project, serviceIds: ["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"] });
    expect(operation.done).toBe(false);
    const [result] = await operation.promise();
    expect(result.services?.map((s) => s.config?.name)).toEqual(["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"]);
    const [one] = await usage.enableService({ name: `${project}/services/logging.googleapis.com` });
    await one.promise();
    const [enabled] = await usage.listServices({ parent: project, filter: "state:ENABLED" });
    expect(enabled.map((s) => s.config?.name)).toEqual(expect.arrayContaining(["run.googleapis.com", "artifactregistry.googleapis.com"]));
    expect(local.snapshot().enabledServices).toContain("run.googleapis.com");
  });

  it("creates a labelled Docker repository once; a second is ALREADY_EXISTS; list and delete", async () => {
    const parent = `${project}/locations/us-central1`;
    const [operation] = await registry.createRepository({ parent, repositoryId: "ferry-images", repository: { format: "DOCKER", description: "Ferry flow images", labels: { "ferry-pool": "p1" } } });
    const [repository] = await operation.promise();
    expect(repository).toMatchObject({ name: `${parent}/repositories/ferry-images`, labels: { "ferry-pool": "p1" } });
    await expect(registry.createRepository({ parent, repositoryId: "ferry-images", repository: { format: "DOCKER" } })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    const [list] = await registry.listRepositories({ parent });
    expect(list.map((r) => r.name)).toEqual([`${parent}/repositories/ferry-images`]);
    const [got] = await registry.getRepository({ name: `${parent}/repositories/ferry-images` });
    expect(got.format).toBe("DOCKER");
    await expect(registry.getRepository({ name: `${parent}/repositories/nope` })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  let account: RestAccount;
  let key: ServiceAccountKeyFile;

  it("creates a service account with a description (IAM REST), a real key for it, and lists keys", async () => {
    const owner = iam(local.ownerKey);
    const created = await owner.request<RestAccount>({ url: iamUrl("serviceAccounts"), method: "POST", data: { accountId: "ferry-cloud-run", serviceAccount: { displayName: "Ferry Cloud Run", description: "ferry:pool:p1" } } });
    account = created.data;
    expect(account).toMatchObject({ email: `ferry-cloud-run@${local.projectId}.iam.gserviceaccount.com`, description: "ferry:pool:p1" });
    await expect(owner.request({ url: iamUrl("serviceAccounts"), method: "POST", data: { accountId: "ferry-cloud-run" } })).rejects.toMatchObject({ status: 409 });
    const made = await owner.request<{ name: string; privateKeyData: string; keyType: string }>({ url: iamUrl(`serviceAccounts/${account.email}/keys`), method: "POST", data: {} });
    key = JSON.parse(Buffer.from(made.data.privateKeyData, "base64").toString("utf8")) as ServiceAccountKeyFile;
    expect(key).toMatchObject({ type: "service_account", client_email: account.email, project_id: local.projectId, token_uri: local.tokenUri });
    expect(made.data.name.endsWith(`/keys/${key.private_key_id}`)).toBe(true);
    const listed = await owner.request<{ keys: { name: string; keyType: string }[] }>({ url: iamUrl(`serviceAccounts/${encodeURIComponent(account.email)}/keys?keyTypes=USER_MANAGED`) });
    expect(listed.data.keys.map((k) => k.name.split("/").pop())).toEqual([key.private_key_id]);
    const all = await owner.request<{ keys: { keyType: string }[] }>({ url: iamUrl(`serviceAccounts/${account.email}/keys`) });
    expect(all.data.keys.map((k) => k.keyType).sort()).toEqual(["SYSTEM_MANAGED", "USER_MANAGED"]);
  });

  it("the new key is refused by Cloud Run until the account holds the roles; the policy is read-modify-write with an etag", async () => {
    const jobs = new v2.JobsClient(clientOptions(local, key));
    const parent = `${project}/locations/us-central1`;
    const job = { template: { template: { containers: [{ image: "ferry-engine:latest" }] } } };
    await expect(jobs.createJob({ parent, jobId: "before-roles", job })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining("run.jobs.create") });
    const [policy] = await projects.getIamPolicy({ resource: project });
    const member = `serviceAccount:${account.email}`;
    await expect(projects.setIamPolicy({ resource: project, policy: { bindings: [...policy.bindings!, { role: "roles/run.developer", members: ["serviceAccount:ghost@ferry-local.iam.gserviceaccount.com"] }], etag: policy.etag } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const [updated] = await projects.setIamPolicy({ resource: project, policy: { bindings: [...policy.bindings!, { role: "roles/run.developer", members: [member] }], etag: policy.etag } });
    await expect(projects.setIamPolicy({ resource: project, policy: { bindings: policy.bindings, etag: policy.etag } })).rejects.toMatchObject({ code: grpc.status.ABORTED });
    await expect(jobs.createJob({ parent, jobId: "without-act-as", job })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining("iam.serviceaccounts.actAs") });
    await projects.setIamPolicy({ resource: project, policy: { bindings: [...updated.bindings!, { role: "roles/iam.serviceAccountUser", members: [member] }], etag: updated.etag } });
    const [operation] = await jobs.createJob({ parent, jobId: "with-roles", job: { template: { template: { ...job.template.template, serviceAccount: account.email } } } });
    await operation.promise();
    expect(local.calls().filter((c) => c.method === "CreateJob").map((c) => [c.principal, c.status])).toEqual([
      [account.email, "PERMISSION_DENIED"],
      [account.email, "PERMISSION_DENIED"],
      [account.email, "OK"],
    ]);
    const [deleted] = await jobs.deleteJob({ name: `${parent}/jobs/with-roles` });
    await deleted.promise();
    await jobs.close();
  });

  it("deleting the key refuses its JWTs; deprovisioning returns the project to its snapshot before", async () => {
    const before = local.snapshot();
    expect(before.serviceAccounts.map((a) => a.email)).toContain(account.email);
    const owner = iam(local.ownerKey);
    await owner.request({ url: iamUrl(`serviceAccounts/${account.email}/keys/${key.private_key_id}`), method: "DELETE" });
    const jobs = new v2.JobsClient(clientOptions(local, key));
    await expect(jobs.getJob({ name: `${project}/locations/us-central1/jobs/x` })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await jobs.close();
    await expect(iam(key).request({ url: iamUrl("serviceAccounts") })).rejects.toMatchObject({ status: 401 });
    const [policy] = await projects.getIamPolicy({ resource: project });
    const member = `serviceAccount:${account.email}`;
    await projects.setIamPolicy({ resource: project, policy: { bindings: policy.bindings!.map((b) => ({ role: b.role, members: b.members!.filter((m) => m !== member) })), etag: policy.etag } });
    await owner.request({ url: iamUrl(`serviceAccounts/${account.email}`), method: "DELETE" });
    await expect(owner.request({ url: iamUrl(`serviceAccounts/${account.email}`) })).rejects.toMatchObject({ status: 404 });
    const [operation] = await registry.deleteRepository({ name: `${project}/locations/us-central1/repositories/ferry-images` });
    await operation.promise();
    const after = local.snapshot();
    expect(after.repositories).toEqual([]);
    expect(after.serviceAccounts.map((a) => a.email)).toEqual([`project-owner@${local.projectId}.iam.gserviceaccount.com`]);
    expect(after.iamBindings).toEqual([{ role: "roles/owner", members: [`serviceAccount:project-owner@${local.projectId}.iam.gserviceaccount.com`] }]);
  });

  it("a deleted account stays in the policy as deleted:serviceAccount, as in Google Cloud", async () => {
    const email = `ferry-temp@${local.projectId}.iam.gserviceaccount.com`;
    local.serviceAccountKey(email);
    const owner = iam(local.ownerKey);
    await owner.request({ url: iamUrl(`serviceAccounts/${email}`), method: "DELETE" });
    const [policy] = await projects.getIamPolicy({ resource: project });
    expect(policy.bindings!.flatMap((b) => b.members)).toContainEqual(expect.stringMatching(new RegExp(`^deleted:serviceAccount:${email}\\?uid=\\d+$`)));
  });
});
