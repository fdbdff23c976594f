import { validationError } from "./errors.js";
import { validateWithSchema, type JsonSchema } from "./json-schema.js";

/**
 * Credential documents ("blocks"). Each type is a JSON Schema whose secret fields carry
 * `x-ferry-secret: true`: the server encrypts those at rest and never returns them.
 */
export interface CredentialType {
  type: string;
  description: string;
  schema: JsonSchema & { properties: Record<string, JsonSchema & { "x-ferry-secret"?: boolean }> };
}

const secret = (description: string): JsonSchema => ({ type: "string", minLength: 1, description, "x-ferry-secret": true });
const plain = (description: string): JsonSchema => ({ type: "string", minLength: 1, description });

export const CREDENTIAL_TYPES: Record<string, CredentialType> = {
  aws: {
    type: "aws",
    description: "An AWS access key, used by ecs:push pools.",
    schema: {
      type: "object",
      additionalProperties: false,
      required: ["aws_access_key_id", "aws_secret_access_key"],
      properties: {
        aws_access_key_id: plain("Access key id (AKIA…)"),
        aws_secret_access_key: secret("Secret access key"),
        aws_session_token: secret("Session token, for temporary credentials"),
        region_name: plain("Default region, e.g. us-east-1"),
      },
    },
  },
  gcp: {
    type: "gcp",
    description: "A Google Cloud service account key, used by cloud-run:push pools.",
    schema: {
      type: "object",
      additionalProperties: false,
      required: ["service_account_info"],
      properties: {
        service_account_info: secret("The service account key file's JSON, as a string"),
        project: plain("Project id; defaults to the key's project"),
      },
    },
  },
  azure: {
    type: "azure",
    description: "An Azure service principal, used by azure-container-instance:push pools.",
    schema: {
      type: "object",
      additionalProperties: false,
      required: ["tenant_id", "client_id", "client_secret"],
      properties: {
        tenant_id: plain("Directory (tenant) id"),
        client_id: plain("Application (client) id"),
        client_secret: secret("Client secret"),
        subscription_id: plain("Subscription id"),
      },
    },
  },
  modal: {
    type: "modal",
    description: "A Modal API token, used by modal:push pools.",
    schema: {
      type: "object",
      additionalProperties: false,
      required: ["token_id", "token_secret"],
      properties: {
        token_id: plain("Token id (ak-…)"),
        token_secret: secret("Token secret (as-…)"),
      },
    },
  },
  git: {
    type: "git",
    description: "An access token for cloning a private git repository.",
    schema: {
      type: "object",
      additionalProperties: false,
      required: ["token"],
      properties: {
        token: secret("Personal access token or deploy token"),
        username: plain("User name to pair with the token (default: x-access-token)"),
      },
    },
  },
};

export const CREDENTIAL_TYPE_NAMES = Object.keys(CREDENTIAL_TYPES);

/** Shown in place of a secret value: it tells a value is set without giving any of it away. */
export const SECRET_MASK = "********";

export function credentialType(type: unknown): CredentialType {
  const t = typeof type === "string" && Object.hasOwn(CREDENTIAL_TYPES, type) ? CREDENTIAL_TYPES[type] : undefined;
  if (!t) {
    throw validationError(`credentials type '${String(type)}' is not known; use one of ${CREDENTIAL_TYPE_NAMES.join(", ")}`);
  }
  return t;
}

export function secretFields(type: CredentialType): string[] {
  return Object.entries(type.schema.properties)
    .filter(([, s]) => s["x-ferry-secret"] === true)
    .map(([k]) => k);
}

export function validateCredentialData(type: string, data: unknown): Record<string, string> {
  const t = credentialType(type);
  return validateWithSchema<Record<string, string>>(t.schema, data, `${type} credentials fields`);
}

/** The document with every secret field replaced by the mask: the only form that leaves the server. */
export function maskCredentialData(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const secrets = new Set(secretFields(credentialType(type)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = secrets.has(k) ? SECRET_MASK : v;
  return out;
}

/** Splits a document into what may be stored in clear and what must be encrypted. */
export function splitSecrets(type: string, data: Record<string, unknown>): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
  const secrets = new Set(secretFields(credentialType(type)));
  const plainPart: Record<string, unknown> = {};
  const secretPart: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) (secrets.has(k) ? secretPart : plainPart)[k] = v;
  return { plain: plainPart, secrets: secretPart };
}
