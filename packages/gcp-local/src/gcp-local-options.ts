import type Dockerode from "dockerode";
import type { ContainerNetwork, ContainerRuntime } from "@ferry/local-containers";

/** The services a new Google Cloud project has enabled (Cloud Run and Artifact Registry are not among them). */
export const NEW_PROJECT_SERVICES = [
  "bigquery.googleapis.com",
  "cloudapis.googleapis.com",
  "cloudtrace.googleapis.com",
  "datastore.googleapis.com",
  "logging.googleapis.com",
  "monitoring.googleapis.com",
  "servicemanagement.googleapis.com",
  "serviceusage.googleapis.com",
  "sql-component.googleapis.com",
  "storage-api.googleapis.com",
  "storage-component.googleapis.com",
  "storage.googleapis.com",
];

/** A project ready for Cloud Run jobs: a new project's services plus the ones Ferry's provisioning enables. */
export const READY_PROJECT_SERVICES = [...NEW_PROJECT_SERVICES, "run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"];

export interface GcpLocalOptions {
  /** Default `ferry-local`. */
  projectId?: string;
  /** Default `123456789012`. */
  projectNumber?: string;
  /** Where both servers listen; default 127.0.0.1. */
  host?: string;
  /** The TLS gRPC port; default 0 (any free port). */
  grpcPort?: number;
  /** The HTTP port of the token endpoint and the IAM REST API; default 0 (any free port). */
  httpPort?: number;
  /** The Docker engine executions run on; null: none (executions fail saying so); default: the local engine. */
  docker?: Dockerode | null;
  /** Instead of Docker: a container runtime (a hand-written fake in unit tests). */
  runtime?: ContainerRuntime;
  /** Network of execution containers; default `host`, so a container reaches servers on 127.0.0.1. */
  network?: ContainerNetwork;
  /** Enabled services at start; default READY_PROJECT_SERVICES (NEW_PROJECT_SERVICES: an empty project). */
  enabledServices?: string[];
  /** Seconds between SIGTERM and SIGKILL when an execution is cancelled; default 10, as Cloud Run. */
  stopGraceSeconds?: number;
  /** How long an execution waits for resources before its containers start (Cloud Run: seconds); default 0. */
  executionStartDelayMs?: number;
  /** Secret Manager values by secret name, for env `valueSource.secretKeyRef`s (gcp-local serves no Secret Manager). */
  secrets?: Record<string, string>;
  /** How long enabling a service or making/deleting a repository takes; default 100 ms. */
  operationDelayMs?: number;
  now?: () => number;
}

export interface ResolvedGcpLocalOptions {
  projectId: string;
  projectNumber: string;
  host: string;
  grpcPort: number;
  httpPort: number;
  docker: Dockerode | null | undefined;
  runtime: ContainerRuntime | undefined;
  network: ContainerNetwork;
  enabledServices: string[];
  stopGraceSeconds: number;
  operationDelayMs: number;
  executionStartDelayMs: number;
  secrets: Record<string, string>;
  now: () => number;
}

export class GcpLocalOptionsError extends Error {
  override readonly name = "GcpLocalOptionsError";
}

const PROJECT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/** Checks the options once, with defaults, naming the fix for a bad one. */
export function resolveGcpLocalOptions(options: GcpLocalOptions = {}): ResolvedGcpLocalOptions {
  const projectId = options.projectId ?? "ferry-local";
  if (!PROJECT_ID.test(projectId)) throw new GcpLocalOptionsError(`projectId '${projectId}' is not a Google Cloud project id: use 6 to 30 lower-case letters, digits and hyphens, starting with a letter.`);
  const projectNumber = options.projectNumber ?? "123456789012";
  if (!/^\d{6,20}$/.test(projectNumber)) throw new GcpLocalOptionsError(`projectNumber '${projectNumber}' must be digits only, e.g. 123456789012.`);
  for (const [name, port] of [["grpcPort", options.grpcPort], ["httpPort", options.httpPort]] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new GcpLocalOptionsError(`${name} ${port} is not a port: use 0 (any free port) to 65535.`);
  }
  for (const [name, ms] of [["operationDelayMs", options.operationDelayMs], ["executionStartDelayMs", options.executionStartDelayMs]] as const) {
    if (ms !== undefined && !(ms >= 0)) throw new GcpLocalOptionsError(`${name} ${ms} must be 0 or more milliseconds.`);
  }
  const stopGraceSeconds = options.stopGraceSeconds ?? 10;
  if (!(stopGraceSeconds >= 0)) throw new GcpLocalOptionsError(`stopGraceSeconds ${stopGraceSeconds} must be 0 or more.`);
  return {
    projectId,
    projectNumber,
    host: options.host ?? "127.0.0.1",
    grpcPort: options.grpcPort ?? 0,
    httpPort: options.httpPort ?? 0,
    docker: options.docker,
    runtime: options.runtime,
    network: options.network ?? "host",
    enabledServices: options.enabledServices ?? READY_PROJECT_SERVICES,
    stopGraceSeconds,
    operationDelayMs: options.operationDelayMs ?? 100,
    executionStartDelayMs: options.executionStartDelayMs ?? 0,
    secrets: { ...(options.secrets ?? {}) },
    now: options.now ?? Date.now,
  };
}
