import { permissionDenied } from "./grpc-error.js";

const TITLES: Record<string, string> = {
  "run.googleapis.com": "Cloud Run Admin API",
  "artifactregistry.googleapis.com": "Artifact Registry API",
  "iam.googleapis.com": "Identity and Access Management (IAM) API",
  "logging.googleapis.com": "Cloud Logging API",
  "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
};

/** The one local project: its id and number, and which APIs are enabled on it. */
export class LocalProject {
  readonly enabled: Set<string>;

  constructor(
    readonly projectId: string,
    readonly projectNumber: string,
    enabledServices: string[],
  ) {
    this.enabled = new Set(enabledServices);
  }

  /** Whether `project` (an id or a number, as resource names may carry either) is this project. */
  is(project: string): boolean {
    return project === this.projectId || project === this.projectNumber;
  }

  /** PERMISSION_DENIED as Google answers for another project, or for this one when the API is disabled. */
  check(project: string, service: string): void {
    if (!this.is(project)) throw permissionDenied(`Permission denied on resource project ${project} (or it may not exist).`);
    if (!this.enabled.has(service)) {
      throw permissionDenied(
        `${TITLES[service] ?? service} has not been used in project ${this.projectNumber} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/${service}/overview?project=${this.projectNumber} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.`,
      );
    }
  }
}
