import type Dockerode from "dockerode";
import type { ContainerRuntime } from "@ferry/local-containers";
import type { ContainerNetwork as TaskNetwork } from "@ferry/local-containers";

/** How to start a local AWS endpoint. Every field is optional; the defaults suit a test on this host. */
export interface AwsLocalOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default `0`: a free port. */
  port?: number;
  /** Default `123456789012`. */
  accountId?: string;
  /** The access key id the server accepts without an IAM user behind it. Default `AKIAFERRYLOCALROOT`. */
  rootAccessKeyId?: string;
  /** Whether each region starts with a default VPC. Default `true`. */
  defaultVpc?: boolean;
  /** A JSON file holding the state across restarts; read at start, written after every change. Default: none, state is in memory. */
  stateFile?: string;
  /** The Docker engine ECS tasks run on. Default: `new Dockerode()` (DOCKER_HOST or the local socket). `null`: no engine, tasks fail to start. */
  docker?: Dockerode | null;
  /** Replaces the Docker runtime altogether (a fake in unit tests). */
  runtime?: ContainerRuntime;
  /** Tasks' network: `host` (default: a task reaches services on 127.0.0.1) or `bridge` (with `host.docker.internal`). */
  taskNetwork?: TaskNetwork;
  /** Variables every task's container gets, under the task definition's own. Default none. */
  taskEnvironment?: Record<string, string>;
  /** SIGTERM-to-SIGKILL grace for StopTask when the container definition has no `stopTimeout`. Default 30, as ECS. */
  defaultStopTimeoutSeconds?: number;
  /** How long a task stays PROVISIONING before it is started. Default 0. */
  provisioningDelayMs?: number;
  /** ECR's registry: GetAuthorizationToken's `proxyEndpoint` and the host of repository URIs. Default: AWS-shaped names that resolve nowhere. */
  registryUrl?: string;
  /** The password inside ECR authorization tokens. Default `aws-local`. */
  registryPassword?: string;
  /** Injectable clock. */
  now?: () => Date;
}

export interface ResolvedAwsLocalOptions {
  host: string;
  port: number;
  accountId: string;
  rootAccessKeyId: string;
  defaultVpc: boolean;
  stateFile: string | null;
  docker: Dockerode | null | undefined;
  runtime: ContainerRuntime | undefined;
  taskNetwork: TaskNetwork;
  taskEnvironment: Record<string, string>;
  defaultStopTimeoutSeconds: number;
  provisioningDelayMs: number;
  registryUrl: string | null;
  registryPassword: string;
  now: () => Date;
}

export class AwsLocalOptionsError extends Error {
  override readonly name = "AwsLocalOptionsError";
  readonly code = "invalid_options";
}

/** Checks options once, at the edge, and fills in the defaults. */
export function resolveAwsLocalOptions(options: AwsLocalOptions = {}): ResolvedAwsLocalOptions {
  const fail = (message: string): never => {
    throw new AwsLocalOptionsError(message);
  };
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
  const accountId = options.accountId ?? "123456789012";
  if (!/^\d{12}$/.test(accountId)) fail(`accountId must be 12 digits, got "${accountId}"`);
  const rootAccessKeyId = options.rootAccessKeyId ?? "AKIAFERRYLOCALROOT";
  if (!/^[A-Z0-9]{16,128}$/.test(rootAccessKeyId)) fail(`rootAccessKeyId must be 16 or more upper-case letters and digits, got "${rootAccessKeyId}"`);
  const taskNetwork = options.taskNetwork ?? "host";
  if (taskNetwork !== "host" && taskNetwork !== "bridge") fail(`taskNetwork must be "host" or "bridge", got "${String(taskNetwork)}"`);
  const defaultStopTimeoutSeconds = options.defaultStopTimeoutSeconds ?? 30;
  if (!(defaultStopTimeoutSeconds >= 0)) fail(`defaultStopTimeoutSeconds must be 0 or more, got ${defaultStopTimeoutSeconds}`);
  const provisioningDelayMs = options.provisioningDelayMs ?? 0;
  if (!(provisioningDelayMs >= 0)) fail(`provisioningDelayMs must be 0 or more, got ${provisioningDelayMs}`);
  let registryUrl: string | null = null;
  if (options.registryUrl !== undefined) {
    try {
      registryUrl = new URL(options.registryUrl).toString().replace(/\/$/, "");
    } catch {
      fail(`registryUrl must be a URL such as http://127.0.0.1:5000, got "${options.registryUrl}"`);
    }
  }
  return {
    host: options.host ?? "127.0.0.1",
    port,
    accountId,
    rootAccessKeyId,
    defaultVpc: options.defaultVpc ?? true,
    stateFile: options.stateFile ?? null,
    docker: options.docker,
    runtime: options.runtime,
    taskNetwork,
    taskEnvironment: options.taskEnvironment ?? {},
    defaultStopTimeoutSeconds,
    provisioningDelayMs,
    registryUrl,
    registryPassword: options.registryPassword ?? "aws-local",
    now: options.now ?? (() => new Date()),
  };
}
