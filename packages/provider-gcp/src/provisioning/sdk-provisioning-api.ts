import { ArtifactRegistryClient } from "@google-cloud/artifact-registry";
import { ProjectsClient } from "@google-cloud/resource-manager";
import { ServiceUsageClient } from "@google-cloud/service-usage";
import { GoogleAuth, JWT } from "google-auth-library";
import { createBackoffSettings, type CallOptions } from "google-gax";
import { clientSettings, type RequestAuth } from "../auth.js";
import { gcpErrorName } from "../errors.js";
import type { GcpPluginOptions } from "../options.js";
import type { ProvisioningApi, RepositoryInfo, ServiceAccountInfo } from "./provisioning-api.js";

/** One try per call (the kit's retries are the one policy) and a deadline. */
const ONCE: CallOptions = { retry: null, timeout: 60_000 };
/** Enabling an API takes from seconds to a minute or two. */
const LRO_POLL: CallOptions = { ...ONCE, longrunning: createBackoffSettings(200, 1.5, 5_000, null, null, null, 300_000) };
const IAM_URL = "https://iam.googleapis.com";

const orNull = async <T>(fn: () => Promise<T>): Promise<T | null> => {
  try {
    return await fn();
  } catch (error) {
    if (gcpErrorName(error) === "NOT_FOUND") return null;
    throw error;
  }
};

const labelsOf = (labels: unknown): Record<string, string> => ({ ...((labels as Record<string, string> | null | undefined) ?? {}) });

/**
 * The official clients behind ProvisioningApi: Service Usage, Artifact Registry and Resource Manager
 * over gRPC; IAM service accounts and keys over REST through google-auth-library's authorized client
 * (`@google-cloud/iam` covers IAM policies v2, not the admin API of accounts and keys).
 */
export function sdkProvisioningApi(options: GcpPluginOptions & { fetch?: typeof fetch }, auth: RequestAuth): ProvisioningApi {
  // The service-usage and resource-manager packages ship an older google-gax: their option types differ, the shape does not.
  const settings = clientSettings(options, auth) as never;
  const usage = new ServiceUsageClient(settings);
  const registry = new ArtifactRegistryClient(settings);
  const projects = new ProjectsClient(settings);
  const iamBase = (options.restUrl ?? IAM_URL).replace(/\/$/, "");
  // REST calls sign a JWT for IAM's audience, wherever the calls are sent.
  if (auth instanceof JWT) auth.defaultServicePath ??= "iam.googleapis.com";

  const rest = async <T>(method: string, path: string, data?: unknown): Promise<T> => {
    const response = await auth.request<T>({
      url: `${iamBase}/v1/${path}`,
      method: method as "GET",
      ...(data === undefined ? {} : { data }),
      retry: false,
      timeout: 60_000,
      ...(options.fetch ? { fetchImplementation: options.fetch } : {}),
    });
    return response.data;
  };
  const accountPath = (project: string, email: string) => `projects/${project}/serviceAccounts/${encodeURIComponent(email)}`;
  const toAccount = (a: { email?: string; description?: string }): ServiceAccountInfo => ({ email: a.email ?? "", description: a.description ?? "" });

  return {
    principal: auth instanceof JWT ? (auth.email ?? null) : null,
    async defaultProject() {
      if (auth instanceof GoogleAuth) return auth.getProjectId().catch(() => null);
      return auth.projectId ?? null;
    },
    async enabledServices(project, names) {
      const states = await Promise.all(names.map(async (name) => (await usage.getService({ name: `projects/${project}/services/${name}` }, ONCE))[0].state));
      return names.filter((_, i) => states[i] === "ENABLED" || states[i] === 2);
    },
    async enableServices(project, names) {
      const [operation] = await usage.batchEnableServices({ parent: `projects/${project}`, serviceIds: [...names] }, LRO_POLL);
      await operation.promise();
    },
    async disableService(project, name) {
      const [operation] = await usage.disableService({ name: `projects/${project}/services/${name}`, disableDependentServices: false }, LRO_POLL);
      await operation.promise();
    },
    async getRepository(name) {
      const repo = await orNull(async () => (await registry.getRepository({ name }, ONCE))[0]);
      return repo ? { name: repo.name ?? name, labels: labelsOf(repo.labels) } : null;
    },
    async createRepository(parent, repositoryId, labels, description): Promise<RepositoryInfo> {
      const [operation] = await registry.createRepository({ parent, repositoryId, repository: { format: "DOCKER", labels, description } }, LRO_POLL);
      const [repo] = await operation.promise();
      return { name: repo?.name || `${parent}/repositories/${repositoryId}`, labels: labelsOf(repo?.labels ?? labels) };
    },
    async deleteRepository(name) {
      const [operation] = await registry.deleteRepository({ name }, LRO_POLL);
      await operation.promise();
    },
    async setRepositoryLabels(name, labels) {
      await registry.updateRepository({ repository: { name, labels }, updateMask: { paths: ["labels"] } }, ONCE);
    },
    async setServiceAccountDescription(project, email, description) {
      await rest("PATCH", accountPath(project, email), { serviceAccount: { description }, updateMask: "description" });
    },
    async getServiceAccount(project, email) {
      const account = await orNull(() => rest<{ email?: string; description?: string }>("GET", accountPath(project, email)));
      return account ? toAccount(account) : null;
    },
    async createServiceAccount(project, accountId, displayName, description) {
      return toAccount(await rest("POST", `projects/${project}/serviceAccounts`, { accountId, serviceAccount: { displayName, description } }));
    },
    async deleteServiceAccount(project, email) {
      await rest("DELETE", accountPath(project, email));
    },
    async createServiceAccountKey(project, email) {
      const key = await rest<{ name?: string; privateKeyData?: string }>("POST", `${accountPath(project, email)}/keys`, {});
      if (!key.privateKeyData || !key.name) throw new Error("CreateServiceAccountKey answered without the key's data");
      return { name: key.name, keyFile: JSON.parse(Buffer.from(key.privateKeyData, "base64").toString("utf8")) as Record<string, unknown> };
    },
    async deleteServiceAccountKey(name) {
      await rest("DELETE", name);
    },
    async getIamPolicy(project) {
      return (await projects.getIamPolicy({ resource: `projects/${project}`, options: { requestedPolicyVersion: 3 } }, ONCE))[0];
    },
    async setIamPolicy(project, policy) {
      await projects.setIamPolicy({ resource: `projects/${project}`, policy }, ONCE);
    },
    async close() {
      await Promise.allSettled([usage.close(), registry.close(), projects.close()]);
    },
  };
}
