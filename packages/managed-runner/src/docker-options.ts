import { isAbsolute, posix } from "node:path";
import { validationError, type ValidationIssue } from "@ferry/core";
import Dockerode from "dockerode";

/** Where a run's dependency cache volume is mounted in its container. */
export const CONTAINER_CACHE_DIR = "/ferry/cache";

/** HOME of the run's user: a tmpfs, since the root filesystem is read-only. */
export const CONTAINER_HOME_DIR = "/home/ferry";

/** Scratch space (TMPDIR): a tmpfs. The engine checks flows out and builds their run directory here. */
export const CONTAINER_SCRATCH_DIR = "/tmp";

/** The engine image's own user (packages/engine/Dockerfile): never root. */
export const DEFAULT_RUN_USER = "10001:10001";

/** The `host-gateway` alias lets a container on a bridge network reach the server on the host. */
export const DEFAULT_EXTRA_HOSTS = ["host.docker.internal:host-gateway"] as const;

export interface DockerRunnerOptions {
  /** The Docker client. Default: `new Dockerode()`, which follows DOCKER_HOST or uses the local socket. */
  docker?: Dockerode;
  /**
   * "isolated" (default): a bridge network of Ferry's own (`<labelPrefix>-runs`, made on first use)
   * with inter-container traffic off, so a run cannot reach another run's container; the host and the
   * internet are reached as on "bridge" (see `runnerFirewallRules` for what the host must drop).
   * "bridge": Docker's default bridge, shared with every other container on the host. "host": runs
   * share the host's network (the server's 127.0.0.1 included): no network isolation at all.
   */
  network?: "isolated" | "bridge" | "host";
  /**
   * `name:address` entries for the container's /etc/hosts. Default on "isolated" and "bridge":
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
  /** The network of the "isolated" mode. Default `<labelPrefix>-runs`. */
  networkName?: string;
  /**
   * The numeric `uid:gid` the engine runs as, whatever the image's USER says. Default "10001:10001",
   * the engine image's `ferry` user. Root (0) is refused: a run is other people's code.
   */
  user?: string;
  /**
   * The OCI runtime of the containers, as registered with dockerd (`docker info` lists them), e.g.
   * "runsc" for gVisor. Default: Docker's default runtime (runc). The backend refuses to start runs when
   * Docker lacks it (`checkRuntime`).
   */
  runtime?: string | null;
}

/** What the create-container request is built from: the options without the client. */
export interface ContainerSettings {
  network: "isolated" | "bridge" | "host";
  extraHosts: string[];
  binds: { source: string; target: string }[];
  engineCommand: string[] | null;
  stopGraceSeconds: number;
  labelPrefix: string;
  pidsLimit: number;
  init: boolean;
  user: string;
  runtime: string | null;
  /** The network of the "isolated" mode. */
  networkName: string;
}

export interface DockerRunnerConfig extends ContainerSettings {
  docker: Dockerode;
  pull: "missing" | "never";
}

const LABEL_PREFIX = /^[a-z0-9][a-z0-9-]{0,30}$/;
const EXTRA_HOST = /^[A-Za-z0-9.-]+:\S+$/;
const NUMERIC_USER = /^(\d{1,9}):(\d{1,9})$/;
const RUNTIME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NETWORKS = ["isolated", "bridge", "host"] as const;
/**
 * Container paths the backend mounts itself: a bind there would hide them or be hidden. Binds below the
 * tmpfs are fine (Docker mounts them over it; the tests mount repositories from the host's /tmp there).
 */
const RESERVED_TARGETS = [CONTAINER_CACHE_DIR, CONTAINER_HOME_DIR, CONTAINER_SCRATCH_DIR];

/** Checks the options once and fills in the defaults; everything else in the backend reads the result. */
export function parseDockerRunnerOptions(options: DockerRunnerOptions = {}): DockerRunnerConfig {
  const issues: ValidationIssue[] = [];
  const network = options.network ?? "isolated";
  if (!NETWORKS.includes(network)) issues.push({ path: "network", message: `must be "isolated", "bridge" or "host", not ${JSON.stringify(network)}` });

  const extraHosts = options.extraHosts ?? (network === "host" ? [] : [...DEFAULT_EXTRA_HOSTS]);
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
    } else if (RESERVED_TARGETS.includes(posix.normalize(target).replace(/(.)\/$/, "$1")) || posix.normalize(target).startsWith(`${CONTAINER_CACHE_DIR}/`)) {
      issues.push({ path: `binds/${i}`, message: `${target} is where the backend mounts the run's dependency cache, home or scratch space (${RESERVED_TARGETS.join(", ")}); choose another container path` });
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

  const user = options.user ?? DEFAULT_RUN_USER;
  const ids = NUMERIC_USER.exec(user);
  if (!ids) issues.push({ path: "user", message: `must be a numeric uid:gid such as ${DEFAULT_RUN_USER} (a name could map to root inside the image), not ${JSON.stringify(user)}` });
  else if (Number(ids[1]) === 0 || Number(ids[2]) === 0) issues.push({ path: "user", message: `must not be root (uid or gid 0): runs are other people's code; the engine image's user is ${DEFAULT_RUN_USER}` });

  const runtime = options.runtime ?? null;
  if (runtime !== null && !RUNTIME_NAME.test(runtime)) issues.push({ path: "runtime", message: `must be the name of a runtime registered with dockerd (e.g. runsc), not ${JSON.stringify(runtime)}` });

  const networkName = options.networkName ?? `${labelPrefix}-runs`;
  if (options.networkName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(networkName)) issues.push({ path: "networkName", message: `must be letters, digits, '_', '.' or '-' (up to 64), not ${JSON.stringify(networkName)}` });

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
    user,
    runtime,
    networkName,
  };
}

/** Where the client connects, for messages: `unix:///var/run/docker.sock`, `tcp://host:2375`. */
export function describeDockerHost(docker: Dockerode): string {
  const modem = docker.modem as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string };
  if (modem.host) return `${modem.protocol === "https" ? "https" : "tcp"}://${modem.host}${modem.port ? `:${modem.port}` : ""}`;
  if (typeof modem.socketPath === "string") return `unix://${modem.socketPath}`;
  return "the local Docker socket";
}
