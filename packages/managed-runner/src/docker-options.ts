import { isAbsolute, posix } from "node:path";
import { validationError, type ValidationIssue } from "@ferry/core";
import Dockerode from "dockerode";

/** Where a run's dependency cache volume is mounted in its container. */
export const CONTAINER_CACHE_DIR = "/ferry/cache";

/** The `host-gateway` alias lets a container on the bridge network reach the server on the host. */
export const DEFAULT_EXTRA_HOSTS = ["host.docker.internal:host-gateway"] as const;

export interface DockerRunnerOptions {
  /** The Docker client. Default: `new Dockerode()`, which follows DOCKER_HOST or uses the local socket. */
  docker?: Dockerode;
  /**
   * "bridge" (default): each run gets its own network namespace, and reaches the host through
   * `extraHosts`. "host": runs share the host's network (the server's 127.0.0.1 included).
   */
  network?: "bridge" | "host";
  /**
   * `name:address` entries for the container's /etc/hosts. Default on "bridge":
   * `host.docker.internal:host-gateway`; none on "host".
   */
  extraHosts?: string[];
  /** Extra read-only mounts, `/host/path:/container/path` (e.g. a pip index or the engine's bundle). */
  binds?: string[];
  /** Replaces the image's entrypoint and command (e.g. to run the engine from a bind mount, or a test program). */
  engineCommand?: string[];
  /** Seconds between SIGTERM and SIGKILL when a run is stopped. Default 10. */
  stopGraceSeconds?: number;
  /** Names and labels start with it: containers `<prefix>-run-<flowRunId>`, label `<prefix>.managed`. Default "ferry". */
  labelPrefix?: string;
  /** Most processes (threads included) a run may have at once. Default 1024. */
  pidsLimit?: number;
  /** Runs a tiny init (docker-init) as PID 1, which forwards SIGTERM to the engine and reaps zombies. Default true. */
  init?: boolean;
  /** "missing" (default): pull an image that is not on the host; "never": fail the start instead. */
  pull?: "missing" | "never";
}

/** What the create-container request is built from: the options without the client. */
export interface ContainerSettings {
  network: "bridge" | "host";
  extraHosts: string[];
  binds: { source: string; target: string }[];
  engineCommand: string[] | null;
  stopGraceSeconds: number;
  labelPrefix: string;
  pidsLimit: number;
  init: boolean;
}

export interface DockerRunnerConfig extends ContainerSettings {
  docker: Dockerode;
  pull: "missing" | "never";
}

const LABEL_PREFIX = /^[a-z0-9][a-z0-9-]{0,30}$/;
const EXTRA_HOST = /^[A-Za-z0-9.-]+:\S+$/;

/** Checks the options once and fills in the defaults; everything else in the backend reads the result. */
export function parseDockerRunnerOptions(options: DockerRunnerOptions = {}): DockerRunnerConfig {
  const issues: ValidationIssue[] = [];
  const network = options.network ?? "bridge";
  if (network !== "bridge" && network !== "host") issues.push({ path: "network", message: `must be "bridge" or "host", not ${JSON.stringify(network)}` });

  const extraHosts = options.extraHosts ?? (network === "bridge" ? [...DEFAULT_EXTRA_HOSTS] : []);
  extraHosts.forEach((entry, i) => {
    if (!EXTRA_HOST.test(entry)) issues.push({ path: `extraHosts/${i}`, message: `must be name:address (e.g. host.docker.internal:host-gateway), not ${JSON.stringify(entry)}` });
  });

  const binds: { source: string; target: string }[] = [];
  (options.binds ?? []).forEach((entry, i) => {
    const [source, target, mode, ...more] = entry.split(":");
    if (!source || !target || more.length > 0 || (mode !== undefined && mode !== "ro")) {
      issues.push({ path: `binds/${i}`, message: `must be /host/path:/container/path (always mounted read-only), not ${JSON.stringify(entry)}` });
    } else if (!isAbsolute(source) || !posix.isAbsolute(target)) {
      issues.push({ path: `binds/${i}`, message: `both paths must be absolute: ${JSON.stringify(entry)}` });
    } else if (posix.normalize(target) === CONTAINER_CACHE_DIR || posix.normalize(target).startsWith(`${CONTAINER_CACHE_DIR}/`)) {
      issues.push({ path: `binds/${i}`, message: `${target} is where the run's dependency cache is mounted; choose another container path` });
    } else {
      binds.push({ source, target: posix.normalize(target) });
    }
  });

  const engineCommand = options.engineCommand ?? null;
  if (engineCommand !== null && (engineCommand.length === 0 || engineCommand.some((a) => typeof a !== "string"))) {
    issues.push({ path: "engineCommand", message: "must be a non-empty list of strings (the program and its arguments); leave it out to use the image's entrypoint" });
  }

  const stopGraceSeconds = options.stopGraceSeconds ?? 10;
  if (!Number.isInteger(stopGraceSeconds) || stopGraceSeconds < 0) issues.push({ path: "stopGraceSeconds", message: "must be a whole number of seconds, 0 or more" });

  const labelPrefix = options.labelPrefix ?? "ferry";
  if (!LABEL_PREFIX.test(labelPrefix)) issues.push({ path: "labelPrefix", message: `must be lower-case letters, digits and dashes (up to 31), not ${JSON.stringify(labelPrefix)}` });

  const pidsLimit = options.pidsLimit ?? 1024;
  if (!Number.isInteger(pidsLimit) || pidsLimit < 16) issues.push({ path: "pidsLimit", message: "must be a whole number, 16 or more (pip and npm start several processes)" });

  const pull = options.pull ?? "missing";
  if (pull !== "missing" && pull !== "never") issues.push({ path: "pull", message: `must be "missing" or "never", not ${JSON.stringify(pull)}` });

  if (issues.length > 0) throw validationError("invalid Docker runner options", issues);
  return {
    docker: options.docker ?? new Dockerode(),
    network,
    extraHosts,
    binds,
    engineCommand,
    stopGraceSeconds,
    labelPrefix,
    pidsLimit,
    init: options.init ?? true,
    pull,
  };
}

/** Where the client connects, for messages: `unix:///var/run/docker.sock`, `tcp://host:2375`. */
export function describeDockerHost(docker: Dockerode): string {
  const modem = docker.modem as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string };
  if (modem.host) return `${modem.protocol === "https" ? "https" : "tcp"}://${modem.host}${modem.port ? `:${modem.port}` : ""}`;
  if (typeof modem.socketPath === "string") return `unix://${modem.socketPath}`;
  return "the local Docker socket";
}
