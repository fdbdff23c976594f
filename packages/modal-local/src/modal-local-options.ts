import type Dockerode from "dockerode";
import type { ContainerNetwork, ContainerRuntime } from "@ferry/local-containers";
import type { ImageBuilder } from "./image-build.js";
import type { ModalToken } from "./auth.js";

/** How to start a local Modal server. Every field is optional; the defaults suit a test on this host. */
export interface ModalLocalOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default `0`: a free port. */
  port?: number;
  /** The Docker engine sandboxes run on. Default `new Dockerode()`. `null`: none, sandboxes live in memory. */
  docker?: Dockerode | null;
  /** Replaces the Docker runtime of sandboxes (a fake in unit tests). */
  runtime?: ContainerRuntime | null;
  /** Replaces the Docker image builder. */
  imageBuilder?: ImageBuilder | null;
  /**
   * Image layers with commands (`RUN pip install …`): `build` (default) has the engine build them (on the
   * host network, so a package index on 127.0.0.1 is reachable); `record` only records them and runs the
   * image as its base, for tests with no package index to reach.
   */
  imageLayers?: "build" | "record";
  /** Sandboxes' network: `host` (default: a sandbox reaches services on 127.0.0.1) or `bridge`. */
  network?: ContainerNetwork;
  /** The token the server accepts (more with `addToken`). Default: one made at start. */
  token?: ModalToken;
  /** The workspace's environments. Default `["main"]` (Modal's default environment). */
  environments?: string[];
  /** The image builder version environments report. Default `2025.06`. */
  imageBuilderVersion?: string;
  /** Variables every sandbox's container gets, under its own. Default none. */
  sandboxEnvironment?: Record<string, string>;
  /** A terminate's SIGTERM-to-SIGKILL grace. Default 10. */
  terminateGraceSeconds?: number;
  /** Injectable clock. */
  now?: () => Date;
}

export interface ResolvedModalLocalOptions {
  host: string;
  port: number;
  docker: Dockerode | null | undefined;
  runtime: ContainerRuntime | null | undefined;
  imageBuilder: ImageBuilder | null | undefined;
  network: ContainerNetwork;
  imageLayers: "build" | "record";
  token: ModalToken | undefined;
  environments: string[];
  imageBuilderVersion: string;
  sandboxEnvironment: Record<string, string>;
  terminateGraceSeconds: number;
  now: () => Date;
}

export class ModalLocalOptionsError extends Error {
  override readonly name = "ModalLocalOptionsError";
  readonly code = "invalid_options";
}

/** Checks options once, at the edge, and fills in the defaults. */
export function resolveModalLocalOptions(options: ModalLocalOptions = {}): ResolvedModalLocalOptions {
  const fail = (message: string): never => {
    throw new ModalLocalOptionsError(message);
  };
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
  const network = options.network ?? "host";
  if (network !== "host" && network !== "bridge") fail(`network must be "host" or "bridge", got "${String(network)}"`);
  const imageLayers = options.imageLayers ?? "build";
  if (imageLayers !== "build" && imageLayers !== "record") fail(`imageLayers must be "build" or "record", got "${String(imageLayers)}"`);
  if (options.token !== undefined) {
    if (!/^ak-[0-9A-Za-z]+$/.test(options.token.tokenId)) fail(`token.tokenId must look like a Modal token id ("ak-" then letters and digits), got "${options.token.tokenId}"`);
    if (!/^as-[0-9A-Za-z]+$/.test(options.token.tokenSecret)) fail(`token.tokenSecret must look like a Modal token secret ("as-" then letters and digits)`);
  }
  const environments = options.environments ?? ["main"];
  if (environments.length === 0) fail("environments must name at least one environment (Modal's default is \"main\")");
  for (const name of environments) if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) fail(`environment names are 1-64 letters, digits, dashes, periods and underscores, got "${name}"`);
  const terminateGraceSeconds = options.terminateGraceSeconds ?? 10;
  if (!(terminateGraceSeconds >= 0)) fail(`terminateGraceSeconds must be 0 or more, got ${terminateGraceSeconds}`);
  return {
    host: options.host ?? "127.0.0.1",
    port,
    docker: options.docker,
    runtime: options.runtime,
    imageBuilder: options.imageBuilder,
    network,
    imageLayers,
    token: options.token,
    environments,
    imageBuilderVersion: options.imageBuilderVersion ?? "2025.06",
    sandboxEnvironment: options.sandboxEnvironment ?? {},
    terminateGraceSeconds,
    now: options.now ?? (() => new Date()),
  };
}
