import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  encodeEngineHandoff,
  FerryError,
  WARM_ENGINE_READY,
  warmEngineFits,
  type RunnerLaunchSpec,
  type RunnerStarted,
  type RunnerWarmEngine,
  type RunnerWarmEngines,
  type RunnerWarmSpec,
} from "@ferry/core";
import type Dockerode from "dockerode";
import { buildWarmContainerSpec, containerEnv, containerName, warmContainerPrefix } from "./docker-container-spec.js";
import { classifyDockerError, hasStatus } from "./docker-errors.js";
import { demuxDockerLogs } from "./docker-logs.js";
import type { DockerRunnerConfig } from "./docker-options.js";
import { validateLaunchSpec } from "./launch-spec.js";
import { lastLines } from "./line-tail.js";

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

interface Warm {
  id: string;
  containerId: string;
  spec: RunnerWarmSpec;
  stdin: Duplex;
  ended: boolean;
}

/**
 * The Docker backend's warm engines: a container per engine, started with the pool's image, cache
 * volume and limits, whose engine waits on its stdin (`OpenStdin` + `StdinOnce`) through an attach
 * stream this server process holds. Claiming renames the container to the run's name (refused when
 * the run has one: one container per run) and writes the hand-off line. Should the server go away,
 * the attach stream closes, the engine reads the end of its stdin and exits; the next server's first
 * prepare removes such exited containers.
 */
export class DockerWarmEngines implements RunnerWarmEngines {
  private readonly engines = new Map<string, Warm>();
  private swept = false;

  constructor(private readonly host: DockerWarmHost) {}

  async prepare(spec: RunnerWarmSpec): Promise<RunnerWarmEngine> {
    const id = `warm-${randomBytes(8).toString("hex")}`;
    const asLaunch: RunnerLaunchSpec = { ...spec, flowRunId: id, env: {} };
    validateLaunchSpec(asLaunch);
    if (!this.swept) {
      this.swept = true;
      await this.removeExited();
    }
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
      const warm: Warm = { id, containerId: container.id, spec: { ...spec }, stdin, ended: false };
      stdin.once("close", () => (warm.ended = true));
      await this.awaitReady(container);
      this.engines.set(id, warm);
      return { id, spec: { ...spec } };
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

  async claim(warmId: string, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    validateLaunchSpec(spec);
    const warm = this.engines.get(warmId);
    if (!warm || warm.ended) throw notFound(warmId);
    if (!warmEngineFits(warm.spec, spec)) {
      throw new FerryError("conflict", `warm engine ${warmId} was made for another workspace, image, cache or limits than run ${spec.flowRunId}; start the run instead`);
    }
    const container = this.host.config.docker.getContainer(warm.containerId);
    const info = await container.inspect().catch((error: unknown) => {
      if (hasStatus(error, 404)) return null;
      throw classifyDockerError(error, this.host.context(`inspect warm engine ${warmId}`));
    });
    if (!info || !info.State.Running) {
      this.engines.delete(warmId);
      await container.remove({ force: true }).catch(() => undefined);
      throw notFound(warmId);
    }
    try {
      // Atomic, and refused (409) when the run has a container: one per run, as with start.
      await container.rename({ name: containerName(this.host.config.labelPrefix, spec.flowRunId) });
    } catch (error) {
      if (hasStatus(error, 409)) return this.host.start(spec);
      throw classifyDockerError(error, this.host.context(`hand warm engine ${warmId} run ${spec.flowRunId}`));
    }
    this.engines.delete(warmId);
    const at = new Date().toISOString();
    this.host.handedOff(warm.containerId, at);
    warm.stdin.end(encodeEngineHandoff(containerEnv(spec.env)));
    return { id: warm.containerId, startedAt: at };
  }

  async discard(warmId: string): Promise<void> {
    const warm = this.engines.get(warmId);
    if (!warm) return;
    this.engines.delete(warmId);
    warm.stdin.destroy();
    try {
      await this.host.config.docker.getContainer(warm.containerId).remove({ force: true });
    } catch (error) {
      if (!hasStatus(error, 404) && !hasStatus(error, 409)) throw classifyDockerError(error, this.host.context(`remove warm engine ${warmId}`));
    }
  }

  async list(): Promise<RunnerWarmEngine[]> {
    return [...this.engines.values()].filter((w) => !w.ended).map((w) => ({ id: w.id, spec: { ...w.spec } }));
  }

  /** Warm containers that exited (their server went away before a run came): removed at the first prepare. */
  private async removeExited(): Promise<void> {
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

function notFound(id: string): FerryError {
  return new FerryError("not_found", `warm engine '${id}' was not found: it ended, was discarded or was claimed; start the run instead`);
}
