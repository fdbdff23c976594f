import { DEFAULT_ENGINE_IMAGE, renderJobConfiguration, resolveJobVariables, validateWithSchema, type BaseJobTemplate, type JsonSchema } from "@ferry/core";
import { checkResources } from "./quantity.js";

export const DEFAULT_REGION = "us-central1";
/** Cloud Run's own limit for a job's task timeout: 7 days. */
export const MAX_TIMEOUT_SECONDS = 604_800;

const stringList = (description: string, maxItems = 200): JsonSchema => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength: 500 },
  maxItems,
  default: [],
  description,
});

/** Cloud Run's (and Kubernetes') rule for label keys and values: lower case, digits, `_` and `-`. */
const LABEL_KEY = "^[a-z][a-z0-9_-]{0,62}$";
const LABEL_VALUE = "^[a-z0-9_-]{0,63}$";

/**
 * The job variables of `cloud-run:push` pools, with the names Prefect's Cloud Run v2 worker uses. The
 * credentials are not a variable: the pool's `gcp` credentials are handed to the provider (as for every
 * push pool), and so is where Google's APIs are (a server setting, the plugin's options).
 */
const CLOUD_RUN_VARIABLES: Record<string, JsonSchema> = {
  image: { type: "string", minLength: 1, default: DEFAULT_ENGINE_IMAGE, description: "Image the run's container starts from (linux/amd64)" },
  region: { type: "string", pattern: "^[a-z]+-[a-z]+[0-9]+$", default: DEFAULT_REGION, description: "Google Cloud region of the job, e.g. us-central1" },
  project: {
    type: ["string", "null"],
    pattern: "^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
    default: null,
    description: "Project id; null uses the credentials' project",
  },
  cpu: { type: "string", default: "1000m", description: "CPU limit of the container as a Kubernetes quantity (1000m = 1 CPU; 1 to 8)" },
  memory: { type: "string", default: "512Mi", description: "Memory limit of the container as a Kubernetes quantity (512Mi to 32Gi)" },
  timeout: { type: "integer", minimum: 1, maximum: MAX_TIMEOUT_SECONDS, default: 600, description: "Seconds the run may take before Cloud Run stops it (1 to 604800)" },
  max_retries: {
    type: "integer",
    minimum: 0,
    maximum: 10,
    default: 0,
    description: "Attempts Cloud Run makes again after a failed one; 0, because a retried attempt re-runs the flow behind Ferry's back",
  },
  env: {
    type: "object",
    additionalProperties: { type: "string" },
    default: {},
    description: "Environment variables of the run's container (stored in the job: use env_from_secrets for secrets)",
  },
  env_from_secrets: {
    type: "object",
    additionalProperties: {
      type: "object",
      additionalProperties: false,
      required: ["secret"],
      properties: {
        secret: { type: "string", minLength: 1, description: "Secret Manager secret: its name, or projects/PROJECT/secrets/NAME" },
        version: { type: "string", minLength: 1, default: "latest" },
      },
    },
    default: {},
    description: "Environment variables read from Secret Manager: NAME: {secret, version}",
  },
  command: { type: ["array", "null"], items: { type: "string" }, default: null, description: "Entrypoint of the container; null keeps the image's" },
  args: { type: ["array", "null"], items: { type: "string" }, default: null, description: "Arguments of the container; null keeps the image's" },
  service_account_name: {
    type: ["string", "null"],
    default: null,
    description: "Service account the flow's code runs as (its email); null uses the project's default compute service account",
  },
  vpc_connector_name: { type: ["string", "null"], default: null, description: "Serverless VPC Access connector the job's egress goes through" },
  labels: {
    type: "object",
    propertyNames: { pattern: LABEL_KEY },
    additionalProperties: { type: "string", pattern: LABEL_VALUE },
    maxProperties: 60,
    default: {},
    description: "Labels of the job (lower case letters, digits, '_' and '-')",
  },
  keep_job: { type: "boolean", default: false, description: "Keep the Cloud Run job after the run ends (it is deleted by default)" },
  pip_packages: stringList("Python packages the engine installs at start"),
  npm_packages: stringList("npm packages the engine installs at start"),
};

/** Every variable is passed through under its own name, so the provider reads one flat object. */
export const CLOUD_RUN_BASE_JOB_TEMPLATE: BaseJobTemplate = {
  variables: { type: "object", properties: CLOUD_RUN_VARIABLES },
  job_configuration: Object.fromEntries(Object.keys(CLOUD_RUN_VARIABLES).map((name) => [name, `{{ ${name} }}`])),
};

export interface SecretReference {
  secret: string;
  version: string;
}

/** A rendered job configuration of a `cloud-run:push` pool, with every default filled in. */
export interface CloudRunJobConfiguration {
  image: string;
  region: string;
  project: string | null;
  cpu: string;
  memory: string;
  timeout: number;
  max_retries: number;
  env: Record<string, string>;
  env_from_secrets: Record<string, SecretReference>;
  command: string[] | null;
  args: string[] | null;
  service_account_name: string | null;
  vpc_connector_name: string | null;
  labels: Record<string, string>;
  keep_job: boolean;
  pip_packages: string[];
  npm_packages: string[];
}

/**
 * Reads a rendered job configuration. A pool's template may have been edited (keys removed, extra keys
 * added), so it is checked again here: missing keys take the variables' defaults, extra keys are
 * ignored, and cpu and memory are held to Cloud Run's limits.
 */
export function parseCloudRunJobConfiguration(raw: Record<string, unknown>): CloudRunJobConfiguration {
  const config = validateWithSchema<CloudRunJobConfiguration>({ type: "object", properties: CLOUD_RUN_VARIABLES }, raw, "cloud-run:push job configuration");
  checkResources(config.cpu, config.memory);
  return config;
}

/** The configuration the default template renders for these job variables, as core renders it for a run. */
export function defaultCloudRunJobConfiguration(variables: Record<string, unknown> = {}): CloudRunJobConfiguration {
  const resolved = resolveJobVariables(CLOUD_RUN_BASE_JOB_TEMPLATE, variables);
  return parseCloudRunJobConfiguration(renderJobConfiguration(CLOUD_RUN_BASE_JOB_TEMPLATE, resolved));
}
