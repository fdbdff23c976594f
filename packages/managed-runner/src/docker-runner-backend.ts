import { FerryError, isFerryError, WARM_ENGINE_READY, type RunnerBackend, type RunnerExit, type RunnerInstance, type RunnerLaunchSpec, type RunnerStarted } from "@ferry/core";
import type Dockerode from "dockerode";
import { buildContainerSpec, buildRunsNetworkSpec, cacheVolumeLabels, cacheVolumeName, containerName, flowRunIdFromName, ICC_OPTION, runnerLabels } from "./docker-container-spec.js";
import { classifyDockerError, dockerMessage, hasStatus } from "./docker-errors.js";
import { demuxDockerLogs } from "./docker-logs.js";
import { CONTAINER_CACHE_DIR, describeDockerHost, parseDockerRunnerOptions, type DockerRunnerConfig, type DockerRunnerOptions } from "./docker-options.js";
import { DockerWarmEngines } from "./docker-warm-engines.js";
import { lastLines, TAIL_LINES } from "./line-tail.js";

/** Docker's zero time, which `StartedAt`/`FinishedAt` hold for a container that never ran. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** What the network of the "isolated" mode is, once made: the server listens on its gateway. */
export interface RunsNetwork {
  name: string;
  /** The host's address on it (where the engine finds the server when it listens there). */
  gateway: string | null;
  /** The host's interface of the bridge, `br-<id>`: what the host firewall matches runs' traffic on. */
  bridgeInterface: string;
  subnet: string | null;
}

/**
 * Each run in its own container (`<prefix>-run-<flowRunId>`), with a hard memory limit, a CPU quota,
 * a process limit and a dependency cache volume. The container stays after it exits so its exit code
 * and OOMKilled flag can be read; `remove` deletes it.
 */
export class DockerRunnerBackend implements RunnerBackend {
  readonly name = "docker";
  readonly isolated = true;
  private readonly config: DockerRunnerConfig;
  private readonly host: string;
  private readonly labels: ReturnType<typeof runnerLabels>;
  private network: Promise<RunsNetwork> | null = null;
  readonly warm: DockerWarmEngines;
  /** When warm engines' containers were handed their runs (by container id), in this process. */
  private readonly handoffs = new Map<string, string>();

  constructor(options: DockerRunnerOptions = {}) {
    this.config = parseDockerRunnerOptions(options);
    this.host = describeDockerHost(this.config.docker);
    this.labels = runnerLabels(this.config.labelPrefix);
    this.warm = new DockerWarmEngines({
      config: this.config,
      prepare: async (spec) => {
        if (this.config.network === "isolated") await this.runsNetwork();
        await this.prepareCache(spec);
      },
      start: (spec) => this.start(spec),
      create: (request, spec) => this.create(request, spec),
      context: (action) => this.context(action),
      handedOff: (id, at) => {
        if (this.handoffs.size >= 10_000) this.handoffs.clear();
        this.handoffs.set(id, at);
      },
    });
  }

  get docker(): Dockerode {
    return this.config.docker;
  }

  /** The runtime the options name (e.g. runsc), or null for Docker's default. */
  get runtime(): string | null {
    return this.config.runtime;
  }

  /**
   * Fails unless Docker has the configured runtime: a server asked for gVisor must not run flows
   * without it. Call it at start; Docker would otherwise refuse each run's container.
   */
  async checkRuntime(): Promise<void> {
    const runtime = this.config.runtime;
    if (!runtime) return;
    const info = (await this.call("read Docker's runtimes", () => this.config.docker.info())) as { Runtimes?: Record<string, unknown> };
    const known = Object.keys(info.Runtimes ?? {});
    if (known.includes(runtime)) return;
    const how = runtime === "runsc"
      ? "install gVisor (apt-get install runsc, or https://gvisor.dev/docs/user_guide/install/) and register it with Docker: `runsc install` adds it to /etc/docker/daemon.json, then reload dockerd (kill -HUP $(pidof dockerd))"
      : `register it in /etc/docker/daemon.json under "runtimes" and reload dockerd (kill -HUP $(pidof dockerd))`;
    throw new FerryError("unavailable", `Docker at ${this.host} has no runtime '${runtime}' (it has ${known.join(", ") || "none"}): ${how}; or leave the runtime unset to use Docker's default`, { retryable: false });
  }

  /**
   * The network of the "isolated" mode, made on first use: a bridge with inter-container traffic off.
   * An existing network of that name with it on is refused rather than used.
   */
  runsNetwork(): Promise<RunsNetwork> {
    if (this.config.network !== "isolated") return Promise.reject(new FerryError("validation_failed", `the runs' network is "${this.config.network}", not "isolated"`));
    this.network ??= this.ensureRunsNetwork().catch((error: unknown) => {
      this.network = null;
      throw error;
    });
    return this.network;
  }

  async start(spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const request = buildContainerSpec(spec, this.config);
    const name = containerName(this.config.labelPrefix, spec.flowRunId);
    const existing = await this.inspectOrNull(name, `look for the container of run ${spec.flowRunId}`);
    if (existing) return this.resume(existing, spec);
    if (this.config.network === "isolated") await this.runsNetwork();
    await this.prepareCache(spec);
    let created: Dockerode.Container;
    try {
      created = await this.create(request, spec);
    } catch (error) {
      const classified = classifyDockerError(error, this.context(`create the container for run ${spec.flowRunId}`));
      if (classified.code !== "conflict") throw classified;
      // A concurrent start of the same run holds the name. Docker reserves a name before the container
      // can be inspected under it, so give that start a moment to finish creating it.
      const other = await this.awaitContainer(name);
      if (!other) throw classified;
      return this.resume(other, spec);
    }
    return this.startCreated(created.id, spec);
  }

  async wait(id: string, signal?: AbortSignal): Promise<RunnerExit> {
    signal?.throwIfAborted();
    const container = this.config.docker.getContainer(id);
    try {
      await container.wait({ condition: "not-running", abortSignal: signal });
    } catch (error) {
      signal?.throwIfAborted();
      throw classifyDockerError(error, this.context(`wait for container ${id}`));
    }
    const info = await this.call(`inspect container ${id}`, () => container.inspect());
    const logs = await this.call(`read the logs of container ${id}`, () => container.logs({ stdout: true, stderr: true, follow: false, tail: TAIL_LINES }));
    const containerStart = dockerTime(info.State.StartedAt) ?? new Date(info.Created).toISOString();
    // A warm engine's container started before its run came: the run's time starts at the hand-off.
    const startedAt = info.Config.Labels?.[this.labels.warm] === "true"
      ? (this.handoffs.get(info.Id) ?? (await this.firstOutputTime(container)) ?? containerStart)
      : containerStart;
    return {
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      startedAt,
      finishedAt: dockerTime(info.State.FinishedAt) ?? startedAt,
      tail: lastLines(demuxDockerLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs))), TAIL_LINES),
    };
  }

  /** Docker keeps no note of why a container stopped; the dispatcher records the reason on the run. */
  async stop(id: string, _reason: string): Promise<void> {
    try {
      await this.config.docker.getContainer(id).stop({ t: this.config.stopGraceSeconds });
    } catch (error) {
      if (hasStatus(error, 304)) return; // already stopped
      throw classifyDockerError(error, this.context(`stop container ${id}`));
    }
  }

  /** Force-removes the container (killing it if it still runs); the shared cache volume stays. */
  async remove(id: string): Promise<void> {
    try {
      await this.config.docker.getContainer(id).remove({ force: true });
    } catch (error) {
      if (hasStatus(error, 404)) return;
      if (hasStatus(error, 409) && /already in progress/i.test(dockerMessage(error))) return;
      throw classifyDockerError(error, this.context(`remove container ${id}`));
    }
  }

  async list(): Promise<RunnerInstance[]> {
    const containers = await this.call("list Ferry's containers", () =>
      this.config.docker.listContainers({ all: true, filters: { label: [`${this.labels.managed}=true`] } }),
    );
    const instances = await Promise.all(containers.map(async (c): Promise<RunnerInstance | null> => {
      // StartedAt is only in the full inspect; a container removed meanwhile is simply not listed.
      const info = await this.inspectOrNull(c.Id, `inspect container ${c.Id}`);
      if (!info) return null;
      // A warm engine's container has no run label: its run is in its name once it took one.
      const flowRunId = info.Config.Labels[this.labels.flowRunId] ?? flowRunIdFromName(this.config.labelPrefix, [info.Name]);
      if (!flowRunId) return null;
      return {
        id: info.Id,
        flowRunId,
        workspaceId: info.Config.Labels[this.labels.workspaceId] ?? "",
        running: info.State.Running || info.State.Paused || info.State.Restarting,
        startedAt: dockerTime(info.State.StartedAt),
      };
    }));
    return instances.filter((i): i is RunnerInstance => i !== null);
  }

  private async ensureRunsNetwork(): Promise<RunsNetwork> {
    const name = this.config.networkName;
    const inspect = async () => {
      try {
        return (await this.config.docker.getNetwork(name).inspect()) as Dockerode.NetworkInspectInfo;
      } catch (error) {
        if (hasStatus(error, 404)) return null;
        throw classifyDockerError(error, this.context(`inspect network ${name}`));
      }
    };
    let info = await inspect();
    if (!info) {
      try {
        await this.config.docker.createNetwork(buildRunsNetworkSpec(this.config.labelPrefix, name));
      } catch (error) {
        // Another server (or start) made it meanwhile.
        if (!hasStatus(error, 409)) throw classifyDockerError(error, this.context(`create network ${name}`));
      }
      info = await inspect();
      if (!info) throw new FerryError("internal", `network ${name} was created but cannot be inspected`);
    }
    if (info.Driver !== "bridge" || info.Options?.[ICC_OPTION] !== "false") {
      throw new FerryError("conflict", `network ${name} exists but is not a bridge with inter-container traffic off (${ICC_OPTION}=false): remove it (docker network rm ${name}) and Ferry makes it afresh`);
    }
    const ipam = info.IPAM?.Config?.find((c) => c.Subnet && /^\d+\.\d+\.\d+\.\d+\//.test(c.Subnet));
    return {
      name,
      gateway: ipam?.Gateway ?? null,
      bridgeInterface: info.Options?.["com.docker.network.bridge.name"] ?? `br-${info.Id.slice(0, 12)}`,
      subnet: ipam?.Subnet ?? null,
    };
  }

  /**
   * A new cache volume is root's on a path the image lacks, and the run is not root: a one-off
   * container (root with only CAP_CHOWN, no network, the run's image and runtime) gives it to the run's
   * user. Runs that find the volume skip this. Should it fail after the volume was made, the engine finds
   * the cache unwritable and installs into the run's own directory (it says so in the run's logs).
   */
  private async prepareCache(spec: RunnerLaunchSpec): Promise<void> {
    const volume = cacheVolumeName(this.config.labelPrefix, spec.workspaceId, spec.cacheKey);
    try {
      await this.config.docker.getVolume(volume).inspect();
      return;
    } catch (error) {
      if (!hasStatus(error, 404)) throw classifyDockerError(error, this.context(`inspect volume ${volume}`));
    }
    const action = `prepare the cache volume ${volume}`;
    const request: Dockerode.ContainerCreateOptions = {
      Image: spec.image,
      User: "0:0",
      Entrypoint: ["chown", this.config.user, CONTAINER_CACHE_DIR],
      Cmd: [],
      Labels: { [`${this.config.labelPrefix}.cache_init`]: "true" },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: "none",
        ...(this.config.runtime ? { Runtime: this.config.runtime } : {}),
        CapDrop: ["ALL"],
        CapAdd: ["CHOWN"],
        SecurityOpt: ["no-new-privileges:true"],
        ReadonlyRootfs: true,
        Memory: 64 * 1024 * 1024,
        Mounts: [{
          Type: "volume",
          Source: volume,
          Target: CONTAINER_CACHE_DIR,
          VolumeOptions: { NoCopy: false, DriverConfig: { Name: "local", Options: {} }, Labels: cacheVolumeLabels(this.config.labelPrefix, spec) },
        }],
        LogConfig: { Type: "json-file", Config: {} },
        AutoRemove: false,
      },
    };
    const container = await this.create(request, spec).catch((error: unknown) => {
      throw isFerryError(error) ? error : classifyDockerError(error, this.context(action));
    });
    try {
      await this.call(action, () => container.start());
      const result = (await this.call(action, () => container.wait())) as { StatusCode?: number };
      if (result.StatusCode !== 0) {
        const logs = await container.logs({ stdout: true, stderr: true, follow: false, tail: 5 }).catch(() => Buffer.alloc(0));
        const text = lastLines(demuxDockerLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs))), 5).join(" ");
        await this.config.docker.getVolume(volume).remove().catch(() => undefined);
        throw new FerryError("provider_error", `could not ${action} for user ${this.config.user}: chown in image '${spec.image}' exited ${result.StatusCode} (${text || "no output"})`, { retryable: false });
      }
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /** The run's container exists already (a restart re-submitting): start it if it never was, and return it. */
  private async resume(info: Dockerode.ContainerInspectInfo, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    // A warm engine's container has no run label; its name became the run's when the run took it.
    const labels = info.Config.Labels ?? {};
    const owner = labels[this.labels.flowRunId] ?? (labels[this.labels.warm] === "true" ? flowRunIdFromName(this.config.labelPrefix, [info.Name]) : undefined);
    if (owner !== spec.flowRunId) {
      throw new FerryError("conflict", `a container named ${info.Name.replace(/^\//, "")} exists but was not started by Ferry for run ${spec.flowRunId}; remove it (docker rm -f ${info.Id.slice(0, 12)})`);
    }
    if (info.State.Status === "created") return this.startCreated(info.Id, spec);
    return { id: info.Id, startedAt: dockerTime(info.State.StartedAt) ?? new Date(info.Created).toISOString() };
  }

  private async create(request: Dockerode.ContainerCreateOptions, spec: RunnerLaunchSpec): Promise<Dockerode.Container> {
    try {
      return await this.config.docker.createContainer(request);
    } catch (error) {
      if (!(hasStatus(error, 404) && /no such image/i.test(dockerMessage(error)))) throw error;
      if (this.config.pull === "never") {
        throw new FerryError("not_found", `image '${spec.image}' is not on this Docker host (pull is "never"): build or load it, e.g. scripts/build-base-image.sh for ferry-base`, { cause: error });
      }
      await this.pull(spec.image);
      return this.config.docker.createContainer(request);
    }
  }

  private async pull(image: string): Promise<void> {
    const context = this.context(`pull image '${image}'`);
    const failure = (message: string, cause: unknown) =>
      new FerryError(hasStatus(cause, 404) || /not found|does not exist|access denied/i.test(message) ? "not_found" : "provider_error", `image '${image}' is not on this Docker host and pulling it failed: ${message}`, { cause });
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.config.docker.pull(image);
    } catch (error) {
      const classified = classifyDockerError(error, context);
      throw classified.code === "unavailable" ? classified : failure(dockerMessage(error), error);
    }
    // A pull reports its failure as an event in a 200 response, not as an HTTP error.
    const events = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) => {
      this.config.docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => (error ? reject(error) : resolve(output)));
    }).catch((error: unknown) => {
      throw failure(dockerMessage(error), error);
    });
    const failed = events.find((e) => e.error || e.errorDetail?.message);
    if (failed) throw failure(failed.errorDetail?.message ?? failed.error ?? "unknown error", failed);
  }

  /** Starts a created container; one that cannot start is removed, so a retry creates it afresh. */
  private async startCreated(id: string, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const container = this.config.docker.getContainer(id);
    try {
      await container.start();
    } catch (error) {
      if (!hasStatus(error, 304)) {
        const classified = classifyDockerError(error, this.context(`start the container for run ${spec.flowRunId}`));
        await container.remove({ force: true }).catch((cleanup: unknown) => {
          throw new FerryError(classified.code, `${classified.message} (and removing the container failed: ${dockerMessage(cleanup)})`, { cause: error, retryable: classified.retryable });
        });
        throw classified;
      }
    }
    const info = await this.call(`inspect container ${id}`, () => container.inspect());
    return { id: info.Id, startedAt: dockerTime(info.State.StartedAt) ?? new Date().toISOString() };
  }

  /**
   * When a container first printed (its engine prints as it is handed its run): the hand-off of a warm
   * engine's container that another server process made, or this one before a restart.
   */
  private async firstOutputTime(container: Dockerode.Container): Promise<string | null> {
    const logs = await container.logs({ stdout: true, stderr: true, follow: false, timestamps: true }).catch(() => null);
    if (!logs) return null;
    // The first line after the one that said it waits.
    const first = demuxDockerLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs))).split("\n").find((l) => l.trim() && !l.includes(WARM_ENGINE_READY));
    return dockerTime(first?.split(" ")[0]);
  }

  private async awaitContainer(name: string): Promise<Dockerode.ContainerInspectInfo | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const info = await this.inspectOrNull(name, `look for container ${name}`);
      if (info) return info;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return null;
  }

  private async inspectOrNull(nameOrId: string, action: string): Promise<Dockerode.ContainerInspectInfo | null> {
    try {
      return await this.config.docker.getContainer(nameOrId).inspect();
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw classifyDockerError(error, this.context(action));
    }
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classifyDockerError(error, this.context(action));
    }
  }

  private context(action: string) {
    return { action, host: this.host };
  }
}

/** An ISO timestamp from Docker's RFC 3339 (nanoseconds), or null for its zero time. */
function dockerTime(value: string | undefined): string | null {
  if (!value || value.startsWith(ZERO_TIME.slice(0, 4))) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
