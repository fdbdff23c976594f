import { FerryError, validationError, type ValidationIssue } from "./errors.js";
import type { BaseJobTemplate } from "./job-template.js";
import type { CredentialType } from "./credentials.js";
import type { SourceStore } from "./sources.js";
import type { Deployment, FlowRun } from "./models.js";

/**
 * The contract a compute platform implements to run flow runs: translate a rendered job configuration
 * into the platform's request, and the platform's status into an `InfrastructureStatus`. Providers hold
 * no state or quota logic; core and the dispatcher decide what a status means for the run.
 */
export interface ComputeProvider {
  /** Pool type served, e.g. `name:push`. Push types end in `:push`. */
  readonly type: string;
  readonly description: string;
  /** The credentials type the provider needs (one its plugin registers, or `git`), or null. */
  readonly credentialsType: string | null;
  /** The template new pools of this type start from: job variables with defaults, and the job configuration. */
  readonly defaultBaseJobTemplate: BaseJobTemplate;

  /**
   * Starts the run on the platform. Must be idempotent on `request.idempotencyKey`: a second call with
   * the same key returns the first call's infrastructure id and starts nothing.
   */
  submit(request: SubmitRequest): Promise<SubmitResult>;

  /** The platform's current view of a submitted run. */
  status(ref: InfrastructureRef): Promise<InfrastructureStatus>;

  /**
   * Optional push-style following: yields each status change until a final one, then returns. Without
   * it the dispatcher calls `status` with a backoff.
   */
  watch?(ref: InfrastructureRef, signal: AbortSignal): AsyncIterable<InfrastructureStatus>;

  /** Asks the platform to stop the run. Stopping one already stopped is not an error. */
  cancel(ref: InfrastructureRef, reason: string): Promise<void>;

  /** The platform's own log lines for the run, when it keeps them (used to explain a crash). */
  logs?(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]>;
}

export interface SubmitRequest {
  flowRun: FlowRun;
  deployment: Deployment;
  /** The pool's job configuration rendered with the run's job variables. */
  jobConfiguration: Record<string, unknown>;
  /** Decrypted credentials of the pool, or null. Never logged or stored by a provider. */
  credentials: Record<string, string> | null;
  /** Derived from the run id; the same for every submission of the run. */
  idempotencyKey: string;
  /** Variables the process on the platform needs to report back (API URL, run id, run token). */
  runtimeEnv: Record<string, string>;
  signal?: AbortSignal;
}

export interface SubmitResult {
  /** Platform identifier of the started job, e.g. `cluster::taskArn`. */
  infrastructureId: string;
}

export interface InfrastructureRef {
  infrastructureId: string;
  jobConfiguration: Record<string, unknown>;
  credentials: Record<string, string> | null;
}

/**
 * - `pending`: accepted, not running yet (image pull, capacity).
 * - `running`: the flow's process runs.
 * - `exited`: the process ended with an exit code.
 * - `failed`: the platform could not start it or lost it; `message` says why in plain words.
 * - `missing`: the platform has no such job.
 */
export type InfrastructureStatus =
  | { phase: "pending"; message?: string }
  | { phase: "running"; message?: string }
  | { phase: "exited"; exitCode: number; message?: string }
  | { phase: "failed"; message: string }
  | { phase: "missing"; message?: string };

export function isFinalStatus(status: InfrastructureStatus): boolean {
  return status.phase === "exited" || status.phase === "failed" || status.phase === "missing";
}

export interface InfrastructureLogLine {
  timestamp: string;
  message: string;
}

/** A step of provisioning: what it touches and whether it will be made or is already there. */
export interface ProvisionStep {
  id: string;
  resource: string;
  name: string;
  action: "create" | "exists";
  detail?: string;
}

/** Credentials provisioning made for a pool (e.g. a new access key), in a type the provider's plugin registers. */
export interface ProvisionedCredentials {
  type: string;
  data: Record<string, string>;
}

export interface ProvisionInput {
  poolName: string;
  /** The user's options, already checked against the provisioner's `optionsSchema` (see parseProvisionOptions). */
  options: Record<string, string>;
  /** Whether the pool already has credentials, so a new key must not be made. */
  hasCredentials: boolean;
  /**
   * Stores credentials the moment they are made, before the next step can fail, so a re-run after a
   * failure finds them and never makes a second key. Unset: they are only returned in the result.
   */
  saveCredentials?: (credentials: ProvisionedCredentials) => Promise<void>;
  signal?: AbortSignal;
}

export interface ProvisionProgress {
  step: ProvisionStep;
  status: "started" | "done" | "skipped" | "failed";
  message?: string;
}

export interface ProvisionResult {
  /** Defaults to write into the pool's template (e.g. a cluster, a network, a role). */
  jobVariableDefaults: Record<string, unknown>;
  /** Credentials made for the pool, when it had none. */
  credentials?: ProvisionedCredentials;
  /** Settings to save in the user's profile, e.g. the default image namespace. */
  profile?: Record<string, string>;
}

/** A step of removal: each resource provisioning made for the pool is deleted; others are kept and said so. */
export interface RemovalStep {
  id: string;
  resource: string;
  name: string;
  action: "delete" | "keep";
  detail?: string;
}

export interface RemovalInput {
  poolName: string;
  options: Record<string, string>;
  /**
   * The job-variable defaults of the pool's template, when the pool still exists: what provisioning
   * wrote there says where it provisioned (a region, a cluster), so removal looks there when the user
   * does not say otherwise.
   */
  poolDefaults?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface RemovalProgress {
  step: RemovalStep;
  status: "started" | "done" | "skipped" | "failed";
  message?: string;
}

/**
 * Creates and removes a pool type's cloud side, with the user's own cloud identity, where the user runs
 * the CLI; never in the server. `plan` and `planRemoval` change nothing. `apply` twice changes nothing
 * the second time and makes no second key; after a failure, `apply` again resumes. `remove` deletes only
 * what carries the pool's tag or label, in the reverse order of creation.
 */
export interface Provisioner {
  /** The pool type whose cloud side this makes, e.g. `name:push`. */
  readonly type: string;
  /**
   * The options a user may give (names to override, a region…): a JSON Schema of an object whose
   * properties are strings with a description. Shown in `--help` and checked before anything is touched.
   */
  readonly optionsSchema: ProvisionOptionsSchema;
  plan(input: ProvisionInput): Promise<ProvisionStep[]>;
  apply(input: ProvisionInput, onProgress: (event: ProvisionProgress) => void): Promise<ProvisionResult>;
  planRemoval(input: RemovalInput): Promise<RemovalStep[]>;
  /** Removes what `planRemoval` marks `delete`; returns those steps. */
  remove(input: RemovalInput, onProgress: (event: RemovalProgress) => void): Promise<RemovalStep[]>;
}

export interface ProvisionOptionsSchema {
  type: "object";
  properties: Record<string, { type: "string"; description: string; default?: string; pattern?: string; minLength?: number; maxLength?: number }>;
  additionalProperties: false;
}

/** A login to an image registry, for pushing a deployment's built image (e.g. a cloud's own registry). */
export interface RegistryLogin {
  /** What the login is for, in messages, e.g. "Amazon ECR". */
  readonly description: string;
  /** Whether this login serves `registry` (a host, with a port when it has one). */
  matches(registry: string): boolean;
  /** A user name and password for the registry, from the user's own cloud identity. */
  login(registry: string, options: { signal?: AbortSignal }): Promise<{ username: string; password: string }>;
}

/**
 * What the server tells every plugin besides its own options: settings of the operator that apply to
 * every provider, and where a provider logs. Generic on purpose: no cloud is named here.
 */
export interface PluginContext {
  /**
   * Whether a push pool without credentials may run with the server's own cloud identity (the cloud
   * SDK's default chain: its environment, an instance or workload role). Off unless the operator sets
   * FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1: on a server shared by workspaces, it would let any of them
   * run tasks with the operator's account.
   */
  allowAmbientCredentials: boolean;
  /** The server's log (pino's `(object, message)` shape); a provider logs decisions, never credentials. */
  logger: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** The context a plugin gets when the caller gives none (tests, tools): no ambient credentials, no log. */
export const DEFAULT_PLUGIN_CONTEXT: PluginContext = { allowAmbientCredentials: false, logger: { debug() {}, warn() {} } };

/**
 * What a provider package's main export gives the server: its pool types' providers and the credential
 * types they use. The server calls `create` once, with that package's options (FERRY_PROVIDER_OPTIONS)
 * and the server's context.
 */
export interface FerryPlugin {
  name: string;
  create(options: Record<string, unknown>, context?: PluginContext): { providers?: ComputeProvider[]; credentialTypes?: CredentialType[]; sourceStores?: SourceStore[] };
}

/**
 * What a provider package's `./client` export gives the clients on a user's machine (the CLI, the
 * GitHub Action, the VS Code extension): provisioners and registry logins. Loaded only when needed, so
 * it should import its cloud SDK lazily.
 */
export interface FerryClientPlugin {
  name: string;
  create(options: Record<string, unknown>): { provisioners?: Provisioner[]; registryLogins?: RegistryLogin[] };
}

export function isPushType(type: string): boolean {
  return type.endsWith(":push");
}

export function isManagedType(type: string): boolean {
  return type.endsWith(":managed");
}

const POOL_TYPE = /^[a-z0-9-]+:(push|managed)$/;

/** Checks a provider before it is registered, so a broken plugin fails at start-up with its name. */
export function assertValidProvider(provider: ComputeProvider, plugin: string): void {
  if (!POOL_TYPE.test(provider.type)) {
    throw new FerryError("validation_failed", `plugin ${plugin}: provider type '${provider.type}' must look like 'name:push'`);
  }
  for (const method of ["submit", "status", "cancel"] as const) {
    if (typeof provider[method] !== "function") {
      throw new FerryError("validation_failed", `plugin ${plugin}: provider ${provider.type} has no ${method}()`);
    }
  }
}

/**
 * The idempotency key a provider receives for a run's attempt: stable across submission retries and
 * server restarts, and new for each attempt of a retried run (attempt 1 keeps the original form), so a
 * retry starts new infrastructure instead of finding the failed attempt's.
 */
export function idempotencyKeyForRun(flowRunId: string, attempt = 1): string {
  return attempt <= 1 ? `ferry-${flowRunId}` : `ferry-${flowRunId}-${attempt}`;
}

/**
 * What a provider names a run's infrastructure after (a job, a container group, a sandbox): the run's
 * id for its first attempt, as always, and `ID-N` for attempt N of a retried run, so a retry never
 * finds the failed attempt's infrastructure under the same name.
 */
export function infrastructureNameFor(flowRun: { id: string; attempt?: number }): string {
  return (flowRun.attempt ?? 1) <= 1 ? flowRun.id : `${flowRun.id}-${flowRun.attempt}`;
}

/** Checks a provisioner before a client uses it, so a broken plugin fails with its name. */
export function assertValidProvisioner(provisioner: Provisioner, plugin: string): void {
  if (!POOL_TYPE.test(provisioner.type)) {
    throw new FerryError("validation_failed", `plugin ${plugin}: provisioner type '${provisioner.type}' must look like 'name:push'`);
  }
  for (const method of ["plan", "apply", "planRemoval", "remove"] as const) {
    if (typeof provisioner[method] !== "function") {
      throw new FerryError("validation_failed", `plugin ${plugin}: provisioner ${provisioner.type} has no ${method}()`);
    }
  }
  const schema = provisioner.optionsSchema;
  if (schema?.type !== "object" || typeof schema.properties !== "object" || schema.properties === null) {
    throw new FerryError("validation_failed", `plugin ${plugin}: provisioner ${provisioner.type} has no optionsSchema (an object schema of string options)`);
  }
  for (const [key, property] of Object.entries(schema.properties)) {
    if (!/^[a-z][a-z0-9_]*$/.test(key) || property.type !== "string" || !property.description) {
      throw new FerryError("validation_failed", `plugin ${plugin}: provisioner ${provisioner.type} option '${key}' must be snake_case, of type string, with a description`);
    }
  }
}

/**
 * The user's provisioning options checked against the provisioner's schema, before anything is
 * touched: an unknown key (a typo) or a value the cloud would refuse is a 400 naming every problem.
 */
export function parseProvisionOptions(provisioner: Pick<Provisioner, "type" | "optionsSchema">, options: Record<string, string | undefined>): Record<string, string> {
  const properties = provisioner.optionsSchema.properties;
  const known = Object.keys(properties);
  const issues: ValidationIssue[] = [];
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (!property) {
      issues.push({ path: key, message: `is not a provisioning option of ${provisioner.type} (its options: ${known.join(", ") || "none"})` });
      continue;
    }
    if (typeof value !== "string") issues.push({ path: key, message: "must be a string" });
    else if (property.minLength !== undefined && value.length < property.minLength) issues.push({ path: key, message: `must have at least ${property.minLength} characters` });
    else if (property.maxLength !== undefined && value.length > property.maxLength) issues.push({ path: key, message: `must have at most ${property.maxLength} characters` });
    else if (property.pattern !== undefined && !new RegExp(property.pattern, "u").test(value)) issues.push({ path: key, message: `'${value}' is not valid: ${property.description}` });
    else out[key] = value;
  }
  if (issues.length) throw validationError(`invalid provisioning options for ${provisioner.type}`, issues);
  return out;
}
