import { FerryError } from "./errors.js";
import type { BaseJobTemplate } from "./job-template.js";
import type { Deployment, FlowRun } from "./models.js";

/**
 * The contract a compute platform implements to run flow runs: translate a rendered job configuration
 * into the platform's request, and the platform's status into an `InfrastructureStatus`. Providers hold
 * no state or quota logic; core and the dispatcher decide what a status means for the run.
 */
export interface ComputeProvider {
  /** Pool type served, e.g. `ecs:push`. Push types end in `:push`. */
  readonly type: string;
  readonly description: string;
  /** Credentials type (see CREDENTIAL_TYPES) the provider needs, or null. */
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

export interface ProvisionInput {
  poolName: string;
  /** Name overrides and options given by the user (e.g. `cluster_name`). */
  options: Record<string, string>;
  /** Whether the pool already has credentials, so a new access key must not be made. */
  hasCredentials: boolean;
  signal?: AbortSignal;
}

export interface ProvisionProgress {
  step: ProvisionStep;
  status: "started" | "done" | "skipped" | "failed";
  message?: string;
}

export interface ProvisionResult {
  /** Defaults to write into the pool's template (e.g. cluster, vpc_id, execution_role_arn). */
  jobVariableDefaults: Record<string, unknown>;
  /** Credentials made for the pool, when it had none. */
  credentials?: { type: string; data: Record<string, string> };
  /** Settings to save in the user's profile, e.g. the default image namespace. */
  profile?: Record<string, string>;
}

/** Creates a pool type's cloud side. `plan` changes nothing; `apply` twice changes nothing the second time. */
export interface Provisioner {
  readonly type: string;
  plan(input: ProvisionInput): Promise<ProvisionStep[]>;
  apply(input: ProvisionInput, onProgress: (event: ProvisionProgress) => void): Promise<ProvisionResult>;
}

/** What a provider package exports: a factory the server calls with that package's options. */
export interface FerryPlugin {
  name: string;
  create(options: Record<string, unknown>): { providers?: ComputeProvider[]; provisioners?: Provisioner[] };
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

/** The idempotency key a provider receives for a run: stable across retries and server restarts. */
export function idempotencyKeyForRun(flowRunId: string): string {
  return `ferry-${flowRunId}`;
}
