import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { ContainerCreateOptions } from "dockerode";
import type { ContainerExit, ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "./container-runtime.js";

/** `host`: a job reaches services on the host's 127.0.0.1; `bridge`: Docker's bridge, with `host.docker.internal`. */
export type ContainerNetwork = "host" | "bridge";

/**
 * The labels on a local server's containers, under its own prefix (`aws-local` gives `aws-local.key`,
 * `aws-local.managed`, `aws-local.server`): the server finds a job's container by `key` and, by
 * `server`, removes only what it started itself, never another server's.
 */
export interface ContainerLabels {
  key: string;
  managed: string;
  server: string;
}

export function containerLabels(prefix: string): ContainerLabels {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(prefix)) throw new TypeError(`a label prefix is lower-case letters, digits, dots and hyphens, got "${prefix}"`);
  return { key: `${prefix}.key`, managed: `${prefix}.managed`, server: `${prefix}.server` };
}

export interface DockerContainerRuntimeOptions {
  network: ContainerNetwork;
  /** Unique per local server process. */
  serverId: string;
  /** The labels' prefix, the local server's name: `aws-local`. */
  labelPrefix: string;
}

/** The Docker request for a job's container, built without talking to Docker. */
export function buildContainerCreateOptions(launch: ContainerLaunch, options: DockerContainerRuntimeOptions): ContainerCreateOptions {
  const { network, serverId } = options;
  const labels = containerLabels(options.labelPrefix);
  const memory = launch.memoryMib === undefined ? {} : { Memory: launch.memoryMib * 1024 * 1024, MemorySwap: launch.memoryMib * 1024 * 1024 };
  return {
    name: launch.name,
    Image: launch.image,
    ...(launch.command === undefined ? {} : { Cmd: launch.command }),
    ...(launch.entryPoint === undefined ? {} : { Entrypoint: launch.entryPoint }),
    Env: Object.entries(launch.env).map(([k, v]) => `${k}=${v}`),
    ...(launch.workingDirectory === undefined ? {} : { WorkingDir: launch.workingDirectory }),
    ...(launch.user === undefined ? {} : { User: launch.user }),
    Labels: { [labels.managed]: "true", [labels.server]: serverId, [labels.key]: launch.key },
    Tty: false,
    HostConfig: {
      NetworkMode: network,
      ...(network === "bridge" ? { ExtraHosts: ["host.docker.internal:host-gateway"] } : {}),
      ...memory,
      ...(launch.cpus === undefined ? {} : { NanoCpus: Math.round(launch.cpus * 1e9) }),
      ...(launch.readOnlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
      ...(launch.dropCapabilities ? { CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"] } : {}),
      ...(launch.tmpfs === undefined ? {} : { Tmpfs: launch.tmpfs }),
      ...(launch.binds === undefined ? {} : { Binds: launch.binds }),
      Init: launch.init,
      AutoRemove: false,
    },
  };
}

/** Splits Docker's timestamped log text (`<RFC 3339 nano> <text>\n`) into lines; keeps a partial last line for the next chunk. */
export class TimestampedLineSplitter {
  private pending = "";

  constructor(
    private readonly stream: OutputLine["stream"],
    private readonly onLine: (line: OutputLine) => void,
  ) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    const lines = text.split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.emit(line);
  }

  end(): void {
    if (this.pending !== "") this.emit(this.pending);
    this.pending = "";
  }

  private emit(raw: string): void {
    const space = raw.indexOf(" ");
    const stamp = space > 0 ? parseDockerTimestamp(raw.slice(0, space)) : null;
    if (stamp === null) this.onLine({ stream: this.stream, timestamp: Date.now(), message: raw });
    else this.onLine({ stream: this.stream, timestamp: stamp, message: raw.slice(space + 1).replace(/\r$/, "") });
  }
}

/** `2024-05-01T10:00:00.123456789Z` → milliseconds (the fraction beyond milliseconds dropped). */
export function parseDockerTimestamp(text: string): number | null {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (match === null) return null;
  const ms = (match[2] ?? "").padEnd(3, "0").slice(0, 3);
  const value = Date.parse(`${match[1]}.${ms}${match[3]}`);
  return Number.isNaN(value) ? null : value;
}

class DockerContainerHandle implements ContainerHandle {
  constructor(
    private readonly docker: Dockerode,
    readonly id: string,
  ) {}

  async follow(onLine: (line: OutputLine) => void, sinceMs?: number): Promise<void> {
    const container = this.docker.getContainer(this.id);
    const since = sinceMs === undefined ? 0 : Math.floor(sinceMs / 1000);
    const stream = (await container.logs({ follow: true, stdout: true, stderr: true, timestamps: true, since })) as NodeJS.ReadableStream;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const outSplitter = new TimestampedLineSplitter("stdout", (line) => (sinceMs === undefined || line.timestamp > sinceMs) && onLine(line));
    const errSplitter = new TimestampedLineSplitter("stderr", (line) => (sinceMs === undefined || line.timestamp > sinceMs) && onLine(line));
    stdout.on("data", (chunk: Buffer) => outSplitter.push(chunk.toString("utf8")));
    stderr.on("data", (chunk: Buffer) => errSplitter.push(chunk.toString("utf8")));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve, reject) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", reject);
    });
    outSplitter.end();
    errSplitter.end();
  }

  async wait(): Promise<ContainerExit> {
    const container = this.docker.getContainer(this.id);
    const result = (await container.wait()) as { StatusCode: number };
    const info = await container.inspect();
    return { exitCode: result.StatusCode, oomKilled: info.State.OOMKilled };
  }

  async stop(graceSeconds: number): Promise<void> {
    await this.docker
      .getContainer(this.id)
      .stop({ t: graceSeconds })
      .catch((error: { statusCode?: number }) => {
        // 304: already stopped. Stopping a container that has exited is not a failure.
        if (error.statusCode !== 304 && error.statusCode !== 404) throw error;
      });
  }

  async remove(): Promise<void> {
    await this.docker
      .getContainer(this.id)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        // 404: gone already; 409: its removal is already under way.
        if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
      });
  }
}

/** Runs a local cloud's job containers on a Docker engine. Images are never pulled: a test builds or imports them. */
export class DockerContainerRuntime implements ContainerRuntime {
  private readonly labels: ContainerLabels;

  constructor(
    private readonly docker: Dockerode,
    private readonly options: DockerContainerRuntimeOptions,
  ) {
    this.labels = containerLabels(options.labelPrefix);
  }

  async hasImage(image: string): Promise<boolean> {
    return this.docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        (error: { statusCode?: number }) => {
          if (error.statusCode === 404) return false;
          throw error;
        },
      );
  }

  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    const container = await this.docker.createContainer(buildContainerCreateOptions(launch, this.options));
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
    return new DockerContainerHandle(this.docker, container.id);
  }

  async find(key: string): Promise<ContainerHandle | null> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${this.labels.key}=${key}`] } });
    const first = found[0];
    return first === undefined ? null : new DockerContainerHandle(this.docker, first.Id);
  }

  async removeAll(): Promise<void> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${this.labels.server}=${this.options.serverId}`] } });
    await Promise.all(found.map((c) => new DockerContainerHandle(this.docker, c.Id).remove()));
  }
}
