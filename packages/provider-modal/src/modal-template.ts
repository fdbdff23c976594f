import { DEFAULT_ENGINE_IMAGE, renderJobConfiguration, resolveJobVariables, validateWithSchema, type BaseJobTemplate, type JsonSchema } from "@ferry/core";

const nullable = (type: string, description: string, extra: JsonSchema = {}): JsonSchema => ({
  type: [type, "null"],
  default: null,
  description,
  ...extra,
});

const stringList = (description: string, maxItems = 200): JsonSchema => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength: 500 },
  maxItems,
  default: [],
  description,
});

/** Where the engine is in Ferry's engine image (and in images built from it). */
export const ENGINE_COMMAND = ["node", "/opt/ferry/engine/engine.mjs"];

/** Modal's own default lifetime of a sandbox is 5 minutes, which would kill longer flows. */
export const DEFAULT_TIMEOUT_SECONDS = 3600;

/**
 * The job variables of `modal:push` pools. The token is not a variable: it is the pool's `modal`
 * credentials (Prefect's `modal_credentials` block), handed to the provider.
 */
const MODAL_VARIABLES: Record<string, JsonSchema> = {
  environment: nullable("string", "Modal environment of the app; null uses the token's default environment", { maxLength: 64 }),
  app_name: { type: "string", pattern: "^[A-Za-z0-9._-]{1,63}$", default: "ferry", description: "Modal app the sandboxes are created in (made when missing)" },
  image: { type: "string", minLength: 1, default: DEFAULT_ENGINE_IMAGE, description: "Registry image the sandbox starts from; it must hold Ferry's engine" },
  command: {
    type: "array",
    items: { type: "string" },
    minItems: 1,
    default: ENGINE_COMMAND,
    description: "What the sandbox runs: Ferry's engine (the image's ENTRYPOINT is cleared, so this runs as given)",
  },
  cpu: nullable("number", "CPU cores reserved for the sandbox (fractions allowed); null uses Modal's default", { exclusiveMinimum: 0, maximum: 64 }),
  memory: nullable("integer", "Memory reserved for the sandbox in MiB; null uses Modal's default", { minimum: 128, maximum: 344064 }),
  timeout: { type: "integer", minimum: 10, maximum: 86400, default: DEFAULT_TIMEOUT_SECONDS, description: "Seconds before Modal stops the sandbox; the run then ends Crashed (timed out)" },
  gpu: nullable("string", "GPU of the sandbox, e.g. T4, A100, A100-80GB:2; null for none", { maxLength: 64 }),
  region: nullable("string", "Modal region to run in, e.g. us-east; null lets Modal choose", { maxLength: 64 }),
  env: {
    type: "object",
    additionalProperties: { type: "string" },
    default: {},
    description: "Environment variables of the sandbox (use Modal secrets, the secrets variable, for secret values)",
  },
  secrets: stringList("Names of Modal secrets whose values become the sandbox's environment variables", 50),
  pip_packages: stringList("Python packages, installed as a cached image layer (a second run with the same packages installs nothing)"),
  npm_packages: stringList("npm packages, installed as a cached image layer"),
};

/** Every variable is passed through under its own name, so the provider reads one flat object. */
export const MODAL_BASE_JOB_TEMPLATE: BaseJobTemplate = {
  variables: { type: "object", properties: MODAL_VARIABLES },
  job_configuration: Object.fromEntries(Object.keys(MODAL_VARIABLES).map((name) => [name, `{{ ${name} }}`])),
};

/** A rendered job configuration of a `modal:push` pool, with every default filled in. */
export interface ModalJobConfiguration {
  environment: string | null;
  app_name: string;
  image: string;
  command: string[];
  cpu: number | null;
  memory: number | null;
  timeout: number;
  gpu: string | null;
  region: string | null;
  env: Record<string, string>;
  secrets: string[];
  pip_packages: string[];
  npm_packages: string[];
}

/**
 * Reads a rendered job configuration. A pool's template may have been edited (keys removed, extra keys
 * added), so it is checked again here and missing keys take the variables' defaults; extra keys are ignored.
 */
export function parseModalJobConfiguration(raw: Record<string, unknown>): ModalJobConfiguration {
  return validateWithSchema<ModalJobConfiguration>({ type: "object", properties: MODAL_VARIABLES }, raw, "modal:push job configuration");
}

/** The configuration the default template renders for these job variables, as core renders it for a run. */
export function defaultModalJobConfiguration(variables: Record<string, unknown> = {}): ModalJobConfiguration {
  const resolved = resolveJobVariables(MODAL_BASE_JOB_TEMPLATE, variables);
  return parseModalJobConfiguration(renderJobConfiguration(MODAL_BASE_JOB_TEMPLATE, resolved));
}
