/**
 * Managed execution runs each flow run's engine somewhere Ferry controls: a Docker container, or (on a
 * machine without Docker) a child process. A `RunnerBackend` only starts, waits for, stops and lists
 * those; what an exit means for the run (COMPLETED, CRASHED out of memory, TimedOut…) is decided in
 * core (`stateForRunnerExit`) and applied by the server.
 */
export interface RunnerBackend {
  /** "docker" or "process": shown to users, and in logs. */
  readonly name: string;
  /** False for backends that give a run no isolation from the host (the process backend). */
  readonly isolated: boolean;
  /**
   * Starts the engine for a run. Idempotent per flow run: when an instance for `spec.flowRunId` exists
   * already (a restart re-submitting), it is returned and nothing new starts.
   */
  start(spec: RunnerLaunchSpec): Promise<RunnerStarted>;
  /** Resolves when the instance exits (at once if it already has). Rejects `not_found` if it is gone. */
  wait(id: string, signal?: AbortSignal): Promise<RunnerExit>;
  /** Stops the instance: a polite signal, then a kill after a short grace. Stopping one that ended is not an error. */
  stop(id: string, reason: string): Promise<void>;
  /** Removes what the instance left (container, scratch directory). */
  remove(id: string): Promise<void>;
  /** Every instance this backend started and has not removed, running or not: for reconciling after a restart. */
  list(): Promise<RunnerInstance[]>;
}

export interface RunnerLaunchSpec {
  flowRunId: string;
  workspaceId: string;
  image: string;
  /** The engine's whole environment: API URL, run id, run token, and the user's `env`. Never a workspace API key. */
  env: Record<string, string>;
  /** Hard memory limit, dependency installation included; no swap. */
  memoryMib: number;
  cpus: number;
  /**
   * Equal for runs whose image and packages are equal: the backend gives such runs of one workspace
   * the same dependency cache (a volume, a directory), mounted where `FERRY_CACHE_DIR` points, so a
   * second run skips the install. Runs of two workspaces never share a cache, whatever their keys: a
   * run can write its cache.
   */
  cacheKey: string;
}

export interface RunnerStarted {
  id: string;
  startedAt: string;
}

export interface RunnerExit {
  exitCode: number;
  /** The kernel killed it for exceeding its memory limit. */
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** The last lines the instance printed, to explain a crash the engine could not report. */
  tail: string[];
}

export interface RunnerInstance {
  id: string;
  flowRunId: string;
  workspaceId: string;
  running: boolean;
  startedAt: string | null;
}

/**
 * Environment variables the engine reads. Dispatchers give a run's infrastructure a bootstrap token,
 * never the run token: whoever can read the infrastructure's description (a cloud's task API, a
 * container's inspect) sees only a single-use, short-lived token the engine has already exchanged.
 * FERRY_RUN_TOKEN is for engines started by hand or by tests.
 */
export const ENGINE_ENV = {
  apiUrl: "FERRY_API_URL",
  flowRunId: "FERRY_FLOW_RUN_ID",
  runToken: "FERRY_RUN_TOKEN",
  bootstrapToken: "FERRY_BOOTSTRAP_TOKEN",
  cacheDir: "FERRY_CACHE_DIR",
} as const;
