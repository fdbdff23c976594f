import { FerryError, validationError } from "./errors.js";
import { validateWithSchema, type JsonSchema } from "./json-schema.js";
import { roleAllows, type Role } from "./roles.js";

/**
 * Credential documents ("blocks"). Each type is a JSON Schema whose secret fields carry
 * `x-ferry-secret: true`: the server encrypts those at rest and never returns them. Core owns the
 * mechanism (validation, splitting secrets out, masking) and one type of its own, `git`; each provider
 * plugin contributes the types its pool types need (a cloud's access key, a service account…).
 */
export interface CredentialType {
  type: string;
  description: string;
  schema: JsonSchema & { properties: Record<string, JsonSchema & { "x-ferry-secret"?: boolean }> };
}

/** A secret string field: encrypted at rest, never returned or printed. */
export const secretField = (description: string): JsonSchema => ({ type: "string", minLength: 1, description, "x-ferry-secret": true });
/** A plain string field: stored in clear and shown back. */
export const plainField = (description: string): JsonSchema => ({ type: "string", minLength: 1, description });

/** Ferry's own type: a token for cloning private git repositories (any pool type may use it). */
export const GIT_CREDENTIAL_TYPE: CredentialType = {
  type: "git",
  description: "An access token for cloning a private git repository.",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["token"],
    properties: {
      token: secretField("Personal access token or deploy token"),
      username: plainField("User name to pair with the token (default: x-access-token)"),
      host: plainField(
        "The git host the token may be sent to (e.g. github.com, or host:port). With it, only sources on that host may use " +
          "these credentials; without it, only an admin may name them in a deployment",
      ),
    },
  },
};

/**
 * Whether a deployment's git source may carry these git credentials. A token goes wherever the
 * source's URL points, so whoever names the credentials could send it to a server of their own: with
 * a `host`, the source must be on that host (for everyone); without one, only an admin (an API key or
 * a session) may attach them, never a role-bearing credential such as an OIDC deployer.
 */
export function assertGitCredentialsFor(gitUrl: string, data: { host?: string | undefined }, name: string, role: Role): void {
  const host = data.host?.trim().toLowerCase();
  if (host) {
    const urlHost = gitHost(gitUrl);
    if (urlHost !== host && urlHost.replace(/:\d+$/, "") !== host) {
      throw validationError(
        `git credentials '${name}' may only be sent to ${host}, and source.git_url is on ${urlHost || "no host"}: ` +
          `use credentials made for that host, or change their host with 'ferry credentials create ${name} --type git --overwrite'`,
      );
    }
    return;
  }
  if (!roleAllows(role, "admin")) {
    throw new FerryError(
      "forbidden",
      `git credentials '${name}' name no host, so only an admin may use them in a deployment (this credential has the '${role}' role): ` +
        `an admin can bind them to the repository's host with 'ferry credentials create ${name} --type git --field host=HOST --overwrite'`,
      { details: { needed_role: "admin", held_role: role } },
    );
  }
}

/** The host (with a port when the URL names one) of an https, http, ssh or scp-like git URL, lower-case. */
export function gitHost(gitUrl: string): string {
  const scp = /^[^@/:]+@([^:/]+):(?!\/)/.exec(gitUrl);
  if (scp) return scp[1]!.toLowerCase();
  try {
    return new URL(gitUrl).host.toLowerCase();
  } catch {
    return "";
  }
}

/** Shown in place of a secret value: it tells a value is set without giving any of it away. */
export const SECRET_MASK = "********";

const TYPE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Checks a contributed type before it is registered, so a broken plugin fails at start-up with its name. */
export function assertValidCredentialType(type: CredentialType, plugin: string): void {
  const where = `plugin ${plugin}: credentials type '${String(type?.type)}'`;
  if (typeof type?.type !== "string" || !TYPE_NAME.test(type.type)) {
    throw new FerryError("validation_failed", `${where} must be lower-case letters, digits and hyphens, starting with a letter`);
  }
  const schema = type.schema as { type?: unknown; properties?: unknown } | undefined;
  if (!schema || schema.type !== "object" || typeof schema.properties !== "object" || schema.properties === null) {
    throw new FerryError("validation_failed", `${where} needs a JSON Schema of type object with properties`);
  }
  for (const [field, property] of Object.entries(type.schema.properties)) {
    if (property["x-ferry-secret"] === true && property.type !== "string") {
      throw new FerryError("validation_failed", `${where}: secret field '${field}' must be a string`);
    }
  }
}

/** The credential types a server or client knows: `git`, plus what the loaded plugins contributed. */
export class CredentialTypeRegistry {
  private readonly types = new Map<string, { type: CredentialType; plugin: string | null }>();

  constructor(types: CredentialType[] = []) {
    this.types.set(GIT_CREDENTIAL_TYPE.type, { type: GIT_CREDENTIAL_TYPE, plugin: null });
    for (const t of types) this.register(t, t.type);
  }

  register(type: CredentialType, plugin: string): void {
    assertValidCredentialType(type, plugin);
    const existing = this.types.get(type.type);
    if (existing) {
      // Two plugins of one cloud (e.g. two pool types on the same credentials) may both bring the type.
      if (JSON.stringify(existing.type) === JSON.stringify(type)) return;
      throw new FerryError(
        "conflict",
        `credentials type '${type.type}' is registered twice with different fields (plugin ${plugin}${existing.plugin ? ` and ${existing.plugin}` : ", and it is built in"}); remove one of the plugins`,
      );
    }
    this.types.set(type.type, { type, plugin });
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }

  list(): CredentialType[] {
    return this.names().map((n) => this.types.get(n)!.type);
  }

  /** The type named `type`, or a 400 listing the known ones (a name from a request body may be anything). */
  get(type: unknown): CredentialType {
    const entry = typeof type === "string" ? this.types.get(type) : undefined;
    if (!entry) {
      throw validationError(
        `credentials type '${String(type)}' is not known on this server; use one of ${this.names().join(", ")} (a cloud's type comes with its provider plugin, see FERRY_PROVIDERS)`,
      );
    }
    return entry.type;
  }

  validate(type: string, data: unknown): Record<string, string> {
    return validateCredentialData(this.get(type), data);
  }
}

export function secretFields(type: CredentialType): string[] {
  return Object.entries(type.schema.properties)
    .filter(([, s]) => s["x-ferry-secret"] === true)
    .map(([k]) => k);
}

export function validateCredentialData(type: CredentialType, data: unknown): Record<string, string> {
  return validateWithSchema<Record<string, string>>(type.schema, data, `${type.type} credentials fields`);
}

/** The document with every secret field replaced by the mask: the only form that leaves the server. */
export function maskCredentialData(type: CredentialType, data: Record<string, unknown>): Record<string, unknown> {
  const secrets = new Set(secretFields(type));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = secrets.has(k) ? SECRET_MASK : v;
  return out;
}

/** Splits a document into what may be stored in clear and what must be encrypted. */
export function splitSecrets(type: CredentialType, data: Record<string, unknown>): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
  const secrets = new Set(secretFields(type));
  const plainPart: Record<string, unknown> = {};
  const secretPart: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) (secrets.has(k) ? secretPart : plainPart)[k] = v;
  return { plain: plainPart, secrets: secretPart };
}
