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
  /**
   * Engines started ahead of their run (absent on a backend that cannot keep one waiting). A warm
   * engine has its interpreter up, its image running and its workspace's cache mounted, and waits for
   * the one run it is handed; it is never given a second one.
   */
  readonly warm?: RunnerWarmEngines;
}

/**
 * The warm engines a backend keeps for this server process only: they are not runs, and a backend
 * ends them when the process that made them goes away (a closed pipe or attach stream), so none
 * outlives its server. What they wait for arrives as one hand-off line (`encodeEngineHandoff`) on the
 * engine's standard input.
 */
export interface RunnerWarmEngines {
  /** Starts an engine that waits for a run of `spec.workspaceId` with exactly these image, cache and limits. */
  prepare(spec: RunnerWarmSpec): Promise<RunnerWarmEngine>;
  /**
   * Hands a warm engine its run. Rejects `conflict` (the warm engine stays) when the run's workspace,
   * image, cache key or limits differ from the warm engine's, and `not_found` when it is unknown or
   * has ended (start the run instead). When the run has an instance already, that is returned and the
   * warm engine stays. Afterwards the instance is like one `start` made, except that its `startedAt`
   * is the hand-off: the time waiting is nobody's compute time.
   */
  claim(warmId: string, spec: RunnerLaunchSpec): Promise<RunnerStarted>;
  /** Ends a warm engine and removes what it left; an unknown id is nothing to discard. */
  discard(warmId: string): Promise<void>;
  /** The warm engines of this process still waiting. */
  list(): Promise<RunnerWarmEngine[]>;
}

/** A run's launch spec without the run: what a warm engine is made for. */
export type RunnerWarmSpec = Omit<RunnerLaunchSpec, "flowRunId" | "env">;

export interface RunnerWarmEngine {
  id: string;
  spec: RunnerWarmSpec;
}

/** Whether a warm engine made for `warm` may take a run launched with `spec` (same workspace, image, cache and limits). */
export function warmEngineFits(warm: RunnerWarmSpec, spec: RunnerLaunchSpec): boolean {
  return warm.workspaceId === spec.workspaceId && warm.image === spec.image && warm.cacheKey === spec.cacheKey &&
    warm.memoryMib === spec.memoryMib && warm.cpus === spec.cpus;
}

/**
 * What a warm engine prints first, once it waits for its hand-off: a backend that cannot see the
 * engine's stdin being read (Docker) waits for this line, so an engine too old to wait (it would exit
 * at once) is never handed a run.
 */
export const WARM_ENGINE_READY = "[ferry] warm engine waiting for its run";

/** The line a warm engine reads on its standard input: its run's whole environment. */
export function encodeEngineHandoff(env: Record<string, string>): string {
  return `${JSON.stringify({ ferry_handoff: 1, env })}\n`;
}

/** Reads a hand-off line; throws a message naming what is wrong (never echoing a value: it holds a token). */
export function parseEngineHandoff(line: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error("the hand-off line is not JSON");
  }
  const env = (parsed as { ferry_handoff?: unknown; env?: unknown } | null)?.env;
  if ((parsed as { ferry_handoff?: unknown } | null)?.ferry_handoff !== 1 || !env || typeof env !== "object" || Array.isArray(env)) {
    throw new Error("the hand-off line is not {ferry_handoff: 1, env: {...}}");
  }
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== "string") throw new Error(`the hand-off's ${name} is not a string`);
  }
  return env as Record<string, string>;
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
  /**
   * The run's maximum runtime: the dispatcher stops the instance then; a backend on a scheduler that can
   * enforce it too (a Kubernetes Job's activeDeadlineSeconds) uses it as a backstop that holds when no
   * server is there to stop it.
   */
  maxRuntimeSeconds?: number;
  /** The run's work pool: a label for the operator's tools (a backend may ignore it). */
  workPoolId?: string;
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
  /**
   * Set when the platform, not the engine, ended the instance (its image could not be pulled, it was
   * evicted, no node could run it): why, in plain words, for the run's CRASHED message.
   */
  reason?: string;
  /** The platform stopped it at the run's maximum runtime (its own deadline, e.g. a Job's activeDeadlineSeconds). */
  timedOut?: boolean;
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
  /** "1": a warm engine, which reads its run's environment as one hand-off line on stdin before it starts. */
  warm: "FERRY_ENGINE_WARM",
} as const;
