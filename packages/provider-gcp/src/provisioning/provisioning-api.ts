import type { protos as iamProtos } from "@google-cloud/resource-manager";
import type { RequestAuth } from "../auth.js";

type IPolicy = iamProtos.google.iam.v1.IPolicy;

export interface RepositoryInfo {
  name: string;
  labels: Record<string, string>;
}

export interface ServiceAccountInfo {
  email: string;
  description: string;
}

/**
 * The Google calls provisioning makes, one method each, with the user's own identity: a narrow
 * interface, so the step rules are tested with a fake and the official clients sit in
 * `sdkProvisioningApi` alone. A Get of something missing answers null; other failures are the
 * clients' own errors (classified by the caller).
 */
export interface ProvisioningApi {
  /** The user's identity, for messages (an email), when the credentials say it. */
  readonly principal: string | null;
  /** The project of the user's credentials (or the environment), when they name one. */
  defaultProject(): Promise<string | null>;
  /** The services of `names` that are enabled in the project. */
  enabledServices(project: string, names: readonly string[]): Promise<string[]>;
  /** BatchEnableServices, waiting for its operation. */
  enableServices(project: string, names: readonly string[]): Promise<void>;
  /** DisableService, waiting for its operation. */
  disableService(project: string, name: string): Promise<void>;
  getRepository(name: string): Promise<RepositoryInfo | null>;
  /** CreateRepository (docker format), waiting for its operation. */
  createRepository(parent: string, repositoryId: string, labels: Record<string, string>, description: string): Promise<RepositoryInfo>;
  deleteRepository(name: string): Promise<void>;
  /** UpdateRepository of the labels only. */
  setRepositoryLabels(name: string, labels: Record<string, string>): Promise<void>;
  getServiceAccount(project: string, email: string): Promise<ServiceAccountInfo | null>;
  createServiceAccount(project: string, accountId: string, displayName: string, description: string): Promise<ServiceAccountInfo>;
  deleteServiceAccount(project: string, email: string): Promise<void>;
  /** PATCH of the description only. */
  setServiceAccountDescription(project: string, email: string, description: string): Promise<void>;
  /** A new key: the key file's JSON (as CreateServiceAccountKey's privateKeyData holds it). */
  createServiceAccountKey(project: string, email: string): Promise<{ name: string; keyFile: Record<string, unknown> }>;
  deleteServiceAccountKey(name: string): Promise<void>;
  getIamPolicy(project: string): Promise<IPolicy>;
  setIamPolicy(project: string, policy: IPolicy): Promise<void>;
  close(): Promise<void>;
}

export type ProvisioningApiFactory = (auth: RequestAuth) => ProvisioningApi;
