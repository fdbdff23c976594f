import { DEFAULT_ENGINE_IMAGE, renderJobConfiguration, resolveJobVariables, validateWithSchema, type BaseJobTemplate, type JsonSchema } from "@ferry/core";

const nullable = (type: string, description: string, extra: JsonSchema = {}): JsonSchema => ({
  type: [type, "null"],
  default: null,
  description,
  ...extra,
});

const stringList = (description: string, maxItems = 200): JsonSchema => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength: 1000 },
  maxItems,
  default: [],
  description,
});

/** The GPU SKUs ACI offers. */
export const GPU_SKUS = ["K80", "P100", "V100"] as const;
export type GpuSku = (typeof GPU_SKUS)[number];

/**
 * The job variables of `azure-container-instance:push` pools, with the names Prefect's ACI worker uses.
 * Credentials are not a variable: the pool's `azure` credentials (Prefect's `aci_credentials`) are handed
 * to the provider. Neither are Azure's endpoints (a server setting: the plugin's options).
 */
const ACI_VARIABLES: Record<string, JsonSchema> = {
  image: { type: "string", minLength: 1, default: DEFAULT_ENGINE_IMAGE, description: "Image the run's container starts from" },
  command: {
    type: ["array", "null"],
    items: { type: "string" },
    default: null,
    description: "Command of the container; null keeps the image's",
  },
  resource_group_name: nullable("string", "Resource group the container groups are made in (provisioning sets it)", { minLength: 1, maxLength: 90 }),
  subscription_id: nullable("string", "Azure subscription id; null uses the credentials' subscription_id", { minLength: 1 }),
  location: { type: "string", minLength: 1, default: "eastus", description: "Azure region of the container groups, e.g. eastus, westeurope" },
  cpu: { type: "number", exclusiveMinimum: 0, maximum: 4, default: 1, description: "vCPUs of the container (ACI allows up to 4 in most regions)" },
  memory: { type: "number", exclusiveMinimum: 0, maximum: 16, default: 1, description: "Memory of the container in GB" },
  gpu_count: nullable("integer", "GPUs of the container (with gpu_sku); null: none", { minimum: 1, maximum: 4 }),
  gpu_sku: { type: ["string", "null"], enum: [...GPU_SKUS, null], default: null, description: "GPU SKU (K80, P100, V100), with gpu_count" },
  identities: stringList("Resource ids of user-assigned managed identities the container group runs with", 20),
  image_registry: {
    type: ["object", "null"],
    default: null,
    additionalProperties: false,
    required: ["login_server"],
    properties: {
      login_server: { type: "string", minLength: 1, description: "The registry's login server, e.g. myregistry.azurecr.io" },
      identity: { type: "string", minLength: 1, description: "Resource id of a user-assigned identity (in identities) allowed AcrPull" },
      username: { type: "string", minLength: 1 },
      password: { type: "string", minLength: 1 },
    },
    description: "The private registry of the image: its login server with an identity, or a username and password",
  },
  subnet_ids: stringList("Resource ids of subnets the container group joins (a virtual network)", 1),
  dns_servers: stringList("DNS servers of the container group (with subnet_ids)", 3),
  env: {
    type: "object",
    additionalProperties: { type: "string" },
    default: {},
    description: "Environment variables of the run's container (returned by ARM to anyone who may read the group: use no secrets here)",
  },
  keep_container_group: { type: "boolean", default: false, description: "Keep the container group once the run ended (default: deleted, after its logs were read)" },
  pip_packages: stringList("Python packages the engine installs at start"),
  npm_packages: stringList("npm packages the engine installs at start"),
};

/** Every variable is passed through under its own name, so the provider reads one flat object. */
export const ACI_BASE_JOB_TEMPLATE: BaseJobTemplate = {
  variables: { type: "object", properties: ACI_VARIABLES },
  job_configuration: Object.fromEntries(Object.keys(ACI_VARIABLES).map((name) => [name, `{{ ${name} }}`])),
};

export interface ImageRegistry {
  login_server: string;
  identity?: string;
  username?: string;
  password?: string;
}

/** A rendered job configuration of an `azure-container-instance:push` pool, with every default filled in. */
export interface AciJobConfiguration {
  image: string;
  command: string[] | null;
  resource_group_name: string | null;
  subscription_id: string | null;
  location: string;
  cpu: number;
  memory: number;
  gpu_count: number | null;
  gpu_sku: GpuSku | null;
  identities: string[];
  image_registry: ImageRegistry | null;
  subnet_ids: string[];
  dns_servers: string[];
  env: Record<string, string>;
  keep_container_group: boolean;
  pip_packages: string[];
  npm_packages: string[];
}

/**
 * Reads a rendered job configuration. A pool's template may have been edited (keys removed, extra keys
 * added), so the configuration is checked again here and missing keys take the variables' defaults;
 * extra keys are ignored.
 */
export function parseAciJobConfiguration(raw: Record<string, unknown>): AciJobConfiguration {
  return validateWithSchema<AciJobConfiguration>({ type: "object", properties: ACI_VARIABLES }, raw, "azure-container-instance:push job configuration");
}

/** The configuration the default template renders for these job variables, as core renders it for a run. */
export function defaultAciJobConfiguration(variables: Record<string, unknown> = {}): AciJobConfiguration {
  const resolved = resolveJobVariables(ACI_BASE_JOB_TEMPLATE, variables);
  return parseAciJobConfiguration(renderJobConfiguration(ACI_BASE_JOB_TEMPLATE, resolved));
}
