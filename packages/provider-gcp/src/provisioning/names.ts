import type { ProvisionOptionsSchema } from "@ferry/core";

/**
 * The APIs a `cloud-run:push` pool needs enabled in its project: Cloud Run and Artifact Registry, and
 * IAM for its service account (a new project has none of them).
 */
export const REQUIRED_SERVICES = ["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"] as const;
/**
 * What the pool's service account may do on the project: run jobs, run them as a service account, and
 * read their logs (a crashed run's last lines are copied into the run's logs).
 */
export const PROJECT_ROLES = ["roles/run.developer", "roles/iam.serviceAccountUser", "roles/logging.viewer"] as const;

export interface ProvisioningNames {
  repository: string;
  serviceAccount: string;
}

export const DEFAULT_NAMES: ProvisioningNames = { repository: "ferry-images", serviceAccount: "ferry-cloud-run" };
export const DEFAULT_PROVISION_REGION = "us-central1";

/**
 * The options of `cloud-run:push` provisioning (CLI flags `--project`, `--region`…), checked by core's
 * parseProvisionOptions before anything is touched: a name Google would refuse fails there, with its rule.
 */
export const CLOUD_RUN_PROVISION_OPTIONS: ProvisionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    project: {
      type: "string",
      pattern: "^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
      description: "Google Cloud project id to provision in; unset: your application default credentials' project (or GOOGLE_CLOUD_PROJECT)",
    },
    region: { type: "string", pattern: "^[a-z]+-[a-z]+[0-9]+$", default: DEFAULT_PROVISION_REGION, description: "Region of the image repository and the pool's jobs, e.g. us-central1" },
    repository_name: {
      type: "string",
      pattern: "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
      default: DEFAULT_NAMES.repository,
      description: "Artifact Registry docker repository for flow images: lower-case letters, digits and hyphens",
    },
    service_account_name: {
      type: "string",
      pattern: "^[a-z]([a-z0-9-]{4,28}[a-z0-9])$",
      default: DEFAULT_NAMES.serviceAccount,
      description: "Service account the pool's runs are submitted as: 6-30 lower-case letters, digits and hyphens",
    },
  },
};

export function resolveNames(options: Record<string, string>): ProvisioningNames {
  return {
    repository: options.repository_name || DEFAULT_NAMES.repository,
    serviceAccount: options.service_account_name || DEFAULT_NAMES.serviceAccount,
  };
}

export function serviceAccountEmail(accountId: string, project: string): string {
  return `${accountId}@${project}.iam.gserviceaccount.com`;
}

export function repositoryName(project: string, region: string, repository: string): string {
  return `projects/${project}/locations/${region}/repositories/${repository}`;
}

/** Where `ferry deploy` pushes images: `REGION-docker.pkg.dev/PROJECT/REPOSITORY`. */
export function imageNamespace(project: string, region: string, repository: string): string {
  return `${region}-docker.pkg.dev/${project}/${repository}`;
}

/** The credentials a provisioned pool gets, named after it. */
export function credentialsName(poolName: string): string {
  return `${poolName}-gcp`;
}
