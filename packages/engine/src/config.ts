import { isAbsolute } from "node:path";
import { ENGINE_ENV, isUuid } from "@ferry/core";
import { EngineError } from "./errors.js";

/** What the engine runs with, parsed once from its environment in `main.ts`. Nothing else reads `process.env`. */
export interface EngineConfig {
  apiUrl: string;
  flowRunId: string;
  /** Run-scoped bearer token: reads this run and its deployment, reports its state and logs. */
  runToken: string;
  /** Dependency cache shared by runs with the same image and packages; null installs into the run's scratch directory. */
  cacheDir: string | null;
  /** Where the run's scratch directory is made (the OS temp directory). */
  scratchRoot: string;
  /** Directory holding `run-flow.py` and `run-flow.mjs`. */
  shimDir: string;
  /** The environment the engine started with, the user's `env` included: the base of every child's environment. */
  env: Record<string, string>;
  /** Interpreter that creates the virtual environment, and runs flows when there is none. */
  python: string;
  /** Log lines are sent at least this often… */
  logFlushIntervalMs: number;
  /** …or as soon as this many are waiting. */
  logBatchSize: number;
  /** Lines waiting for an unreachable server are held in memory up to this many bytes (and as much again being sent)… */
  logMemoryLimitBytes: number;
  /** …then in the scratch directory up to this many; beyond, lines are dropped and a marker line says how many. */
  logSpoolLimitBytes: number;
  /** Longest wait between two attempts to send a batch of lines. */
  logRetryMaxDelayMs: number;
  /** At the end of the run, the lines still waiting get this long to be sent before the final state is reported. */
  logFlushTimeoutMs: number;
  /**
   * Time the flow gets to exit after SIGTERM before it is killed. Shorter than the runner backends'
   * 10 s grace, so the engine still sends the flow's last lines before the backend's kill.
   */
  stopGraceMs: number;
}


/**
 * How the engine proves it is its run's engine: the run token itself (an engine started by hand), or
 * the single-use bootstrap token a dispatcher gives the run's infrastructure, traded at start for the
 * run token so that the token never sits in an environment others can read.
 */
export type EngineCredential = { kind: "run-token"; token: string } | { kind: "bootstrap"; token: string };

/** The parsed environment: the engine's config before its credential is turned into a run token. */
export interface EngineStartConfig extends Omit<EngineConfig, "runToken"> {
  credential: EngineCredential;
}

/** Parses the engine's environment; every problem is reported at once, each naming its variable. */
export function parseEngineConfig(
  env: Record<string, string | undefined>,
  paths: { scratchRoot: string; shimDir: string },
): EngineStartConfig {
  const problems: string[] = [];
  const apiUrl = env[ENGINE_ENV.apiUrl]?.trim() ?? "";
  if (!apiUrl) problems.push(`${ENGINE_ENV.apiUrl} is not set: the URL of the Ferry server, e.g. http://10.0.0.5:4200`);
  else if (!/^https?:\/\/[^/]+/.test(apiUrl)) problems.push(`${ENGINE_ENV.apiUrl} '${apiUrl}' is not an http(s) URL`);

  const flowRunId = env[ENGINE_ENV.flowRunId]?.trim() ?? "";
  if (!flowRunId) problems.push(`${ENGINE_ENV.flowRunId} is not set: the id of the flow run to execute`);
  else if (!isUuid(flowRunId)) problems.push(`${ENGINE_ENV.flowRunId} '${flowRunId}' is not a flow run id (a UUID)`);

  const runToken = env[ENGINE_ENV.runToken]?.trim() ?? "";
  const bootstrapToken = env[ENGINE_ENV.bootstrapToken]?.trim() ?? "";
  // Never echo a token, not even a malformed one.
  if (!runToken && !bootstrapToken) {
    problems.push(`${ENGINE_ENV.bootstrapToken} (or ${ENGINE_ENV.runToken}) is not set: the token the server issued for this run`);
  }

  const cacheText = env[ENGINE_ENV.cacheDir]?.trim() ?? "";
  if (cacheText && !isAbsolute(cacheText)) problems.push(`${ENGINE_ENV.cacheDir} '${cacheText}' must be an absolute path`);

  if (problems.length) {
    throw new EngineError("invalid_config", `the engine cannot start: ${problems.join("; ")}`);
  }
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    flowRunId,
    // A run token given outright wins: there is nothing to exchange.
    credential: runToken ? { kind: "run-token", token: runToken } : { kind: "bootstrap", token: bootstrapToken },
    cacheDir: cacheText || null,
    scratchRoot: paths.scratchRoot,
    shimDir: paths.shimDir,
    env: childEnv,
    python: "python3",
    logFlushIntervalMs: 200,
    logBatchSize: 200,
    logMemoryLimitBytes: 4 * 1024 * 1024,
    logSpoolLimitBytes: 64 * 1024 * 1024,
    logRetryMaxDelayMs: 5_000,
    logFlushTimeoutMs: 30_000,
    stopGraceMs: 7_000,
  };
}
