import type { Duplex } from "node:stream";
import {
  encodeEngineHandoff,
  FerryError,
  WARM_ENGINE_READY,
  type RunnerLaunchSpec,
  type RunnerStarted,
  type RunnerWarmSpec,
} from "@ferry/core";
import type Dockerode from "dockerode";
import { buildWarmContainerSpec, containerEnv, containerName, warmContainerPrefix } from "./docker-container-spec.js";
import { classifyDockerError, hasStatus } from "./docker-errors.js";
import { demuxDockerLogs } from "./docker-logs.js";
import type { DockerRunnerConfig } from "./docker-options.js";
import { lastLines } from "./line-tail.js";
import { WarmEngineSet, warmEngineNotFound, type WarmEngineHandle } from "./warm-engine-set.js";

/** How long a new warm engine's container may take to say it waits. */
const READY_TIMEOUT_MS = 60_000;

/** What the Docker backend lends its warm engines. */
export interface DockerWarmHost {
  config: DockerRunnerConfig;
  /** Ferry's network (isolated mode) and the cache volume, as a start makes them. */
  prepare(spec: RunnerLaunchSpec): Promise<void>;
  /** The backend's start: what a claim falls back to when the run has a container already. */
  start(spec: RunnerLaunchSpec): Promise<RunnerStarted>;
  /** Creates a container (pulling its image when allowed). */
  create(request: Dockerode.ContainerCreateOptions, spec: RunnerLaunchSpec): Promise<Dockerode.Container>;
  context(action: string): { action: string; host: string };
  /** Notes when a container was handed its run: its compute time starts there, not at the container's start. */
  handedOff(containerId: string, at: string): void;
}

interface Warm extends WarmEngineHandle {
  containerId: string;
  stdin: Duplex;
}

/**
 * The Docker backend's warm engines: a container per engine, started with the pool's image, cache
 * volume and limits, whose engine waits on its stdin (`OpenStdin` + `StdinOnce`) through an attach
 * stream this server process holds. Claiming renames the container to the run's name (refused when
 * the run has one: one container per run) and writes the hand-off line. Should the server go away,
 * the attach stream closes, the engine reads the end of its stdin and exits; the next server's first
 * prepare removes such exited containers.
 */
export class DockerWarmEngines extends WarmEngineSet<Warm> {
  constructor(private readonly host: DockerWarmHost) {
    super();
  }

  protected async start(id: string, spec: RunnerWarmSpec): Promise<Warm> {
    const asLaunch: RunnerLaunchSpec = { ...spec, flowRunId: id, env: {} };
    await this.host.prepare(asLaunch);
    const request = buildWarmContainerSpec(spec, id, this.host.config);
    let container: Dockerode.Container;
    try {
      container = await this.host.create(request, asLaunch);
    } catch (error) {
      throw error instanceof FerryError ? error : classifyDockerError(error, this.host.context(`create a warm engine's container`));
    }
    try {
      const stdin = (await container.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as unknown as Duplex;
      stdin.on("error", () => {}); // a container that ended is seen by list and claim
      await container.start();
      // The stream must not keep this server's event loop alive; its closing is the engine's sign that the server is gone.
      (stdin as unknown as { unref?: () => void }).unref?.();
      const warm: Warm = { id, containerId: container.id, spec, stdin, ended: false };
      stdin.once("close", () => (warm.ended = true));
      await this.awaitReady(container);
      return warm;
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      if (error instanceof FerryError) throw error;
      throw classifyDockerError(error, this.host.context("start a warm engine's container"));
    }
  }

  /**
   * Until the engine says it waits (WARM_ENGINE_READY in its output): an engine image older than the
   * server would not wait, but exit at once, and a run handed to it would crash.
   */
  private async awaitReady(container: Dockerode.Container): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const logs = await container.logs({ stdout: true, stderr: true, follow: false, tail: 20 }).catch(() => null);
      const text = logs ? demuxDockerLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs))) : "";
      if (text.includes(WARM_ENGINE_READY)) return;
      const info = await container.inspect().catch(() => null);
      if (!info?.State.Running || Date.now() > deadline) {
        const why = !info?.State.Running
          ? `its engine exited (${lastLines(text, 3).join(" | ") || `code ${info?.State.ExitCode ?? "unknown"}`}) instead of waiting: is image '${info?.Config.Image ?? "?"}' older than this server? Rebuild it (packages/engine/scripts/build-image.sh)`
          : `its engine did not say it waits within ${READY_TIMEOUT_MS / 1000} s`;
        throw new FerryError("unavailable", `a warm engine could not be started: ${why}`, { retryable: false });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  protected async handOver(warm: Warm, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const container = this.host.config.docker.getContainer(warm.containerId);
    const info = await container.inspect().catch((error: unknown) => {
      if (hasStatus(error, 404)) return null;
      throw classifyDockerError(error, this.host.context(`inspect warm engine ${warm.id}`));
    });
    if (!info || !info.State.Running) {
      this.forget(warm.id);
      await container.remove({ force: true }).catch(() => undefined);
      throw warmEngineNotFound(warm.id);
    }
    try {
      // Atomic, and refused (409) when the run has a container: one per run, as with start.
      await container.rename({ name: containerName(this.host.config.labelPrefix, spec.flowRunId) });
    } catch (error) {
      if (hasStatus(error, 409)) return this.host.start(spec);
      throw classifyDockerError(error, this.host.context(`hand warm engine ${warm.id} run ${spec.flowRunId}`));
    }
    this.forget(warm.id);
    const at = new Date().toISOString();
    this.host.handedOff(warm.containerId, at);
    warm.stdin.end(encodeEngineHandoff(containerEnv(spec.env)));
    return { id: warm.containerId, startedAt: at };
  }

  protected async end(warm: Warm): Promise<void> {
    warm.stdin.destroy();
    try {
      await this.host.config.docker.getContainer(warm.containerId).remove({ force: true });
    } catch (error) {
      if (!hasStatus(error, 404) && !hasStatus(error, 409)) throw classifyDockerError(error, this.host.context(`remove warm engine ${warm.id}`));
    }
  }

  /** Warm containers that exited (their server went away before a run came): removed at the first prepare. */
  protected async removeLeftovers(): Promise<void> {
    const prefix = warmContainerPrefix(this.host.config.labelPrefix);
    const containers = await this.host.config.docker.listContainers({ all: true, filters: { label: [`${this.host.config.labelPrefix}.warm=true`], status: ["exited", "created", "dead"] } })
      .catch(() => [] as Dockerode.ContainerInfo[]);
    for (const c of containers) {
      // Only those never handed a run: a warm container renamed to a run's is that run's, followed by the dispatcher.
      if (!c.Names.some((n) => n.replace(/^\//, "").startsWith(prefix))) continue;
      await this.host.config.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
  }
}
