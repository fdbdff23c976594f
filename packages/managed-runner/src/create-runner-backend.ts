import { FerryError, type RunnerBackend } from "@ferry/core";
import { DockerRunnerBackend } from "./docker-runner-backend.js";
import { classifyDockerError } from "./docker-errors.js";
import { describeDockerHost, type DockerRunnerOptions } from "./docker-options.js";
import { ProcessRunnerBackend } from "./process-runner-backend.js";
import type { ProcessRunnerOptions } from "./process-options.js";

export interface RunnerBackendConfig {
  /** "auto" (default): Docker when its daemon answers, the process backend otherwise. "docker" fails without Docker. */
  mode?: "auto" | "docker" | "process";
  docker?: DockerRunnerOptions;
  process: ProcessRunnerOptions;
  /** How long Docker has to answer a ping. Default 2000 ms. */
  pingTimeoutMs?: number;
}

export interface ChosenRunnerBackend {
  backend: RunnerBackend;
  kind: "docker" | "process";
  /** One line for the server to print: which backend, and why. */
  message: string;
}

/** dockerode's ping takes an abort signal; its type definitions do not say so. */
interface Pingable {
  ping(options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/**
 * Picks the runner backend at server start: Docker when a daemon answers within the ping timeout,
 * otherwise the process backend, whose runs are not isolated (the message says so). Invalid options
 * for either backend fail here rather than falling back. A configured container runtime (gVisor) is a
 * demand for isolation: with it, "auto" never falls back, and a Docker without that runtime fails.
 */
export async function createRunnerBackend(config: RunnerBackendConfig): Promise<ChosenRunnerBackend> {
  const mode = config.mode ?? "auto";
  if (mode === "process") {
    return { backend: new ProcessRunnerBackend(config.process), kind: "process", message: "using the process backend (as configured), which gives runs no isolation" };
  }
  const docker = new DockerRunnerBackend(config.docker);
  const processBackend = mode === "auto" && !docker.runtime ? new ProcessRunnerBackend(config.process) : null;
  const host = describeDockerHost(docker.docker);
  const timeoutMs = config.pingTimeoutMs ?? 2000;
  const problem = await (docker.docker as unknown as Pingable).ping({ abortSignal: AbortSignal.timeout(timeoutMs) }).then(
    () => null,
    (error: unknown) => ((error as Error).name === "AbortError" || (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms at ${host}` : `${(error as Error).message} at ${host}`.trim()),
  );
  if (problem === null) {
    await docker.checkRuntime();
    return { backend: docker, kind: "docker", message: `using Docker (${host}${docker.runtime ? `, runtime ${docker.runtime}` : ""})` };
  }
  if (!processBackend) {
    const instead = docker.runtime ? `the runtime ${docker.runtime} needs Docker` : "or use the process backend";
    throw new FerryError("unavailable", `Docker is not available (${problem}): start Docker, ${instead}`, {
      cause: classifyDockerError(new Error(problem), { action: "ping Docker", host }),
    });
  }
  return { backend: processBackend, kind: "process", message: `Docker not available (${problem}): using the process backend, which gives runs no isolation` };
}
