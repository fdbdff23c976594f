import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENGINE_ENV, FerryError, validationError, type ValidationIssue } from "@ferry/core";

/**
 * The only host variables a run's engine gets (its launch spec's env comes on top): enough to find
 * programs, a home for tools' caches, the locale, and where pip and npm install from. Everything else
 * in the server's environment (database URL, secret key, cloud credentials) stays out.
 */
export const INHERITED_ENV = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "PIP_INDEX_URL",
  "PIP_EXTRA_INDEX_URL",
  "PIP_FIND_LINKS",
  "PIP_NO_INDEX",
  "PIP_TRUSTED_HOST",
  "PIP_CERT",
  "NPM_CONFIG_REGISTRY",
  "npm_config_registry",
  "NPM_CONFIG_CAFILE",
  "npm_config_cafile",
  "NODE_EXTRA_CA_CERTS",
] as const;

export interface ProcessRunnerOptions {
  /** Where each run's directory lives (e.g. `$FERRY_HOME/runs`); every server sharing runs must use the same. */
  stateDir: string;
  /** Dependency caches, one directory per cache key (e.g. `$FERRY_HOME/cache`). */
  cacheDir: string;
  /**
   * The engine's program and arguments. Default: this Node.js running `@ferry/engine`'s
   * `dist/engine.mjs`, looked up at the first start (so the backend can be built without the engine).
   */
  engineCommand?: string[];
  /** Seconds between SIGTERM and SIGKILL when a run is stopped. Default 10. */
  stopGraceSeconds?: number;
  /** How often a run's memory is measured, in ms. Default 200: a fast allocation can overshoot for that long. */
  memoryPollMs?: number;
  /** How long a start waits for the supervisor to report the engine running. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** The server's environment, of which only `inheritEnv` is passed on. Default: `process.env`. */
  hostEnv?: Record<string, string | undefined>;
  /** Names of host variables a run inherits. Default: INHERITED_ENV. */
  inheritEnv?: readonly string[];
  /**
   * The supervisor script. Default: `process-supervisor.js` beside this module; a bundled server must
   * ship that file and point here.
   */
  supervisorScript?: string;
  /** The Node.js that runs the supervisor. Default: `process.execPath`. */
  nodePath?: string;
}

export interface ProcessRunnerConfig {
  stateDir: string;
  cacheDir: string;
  engineCommand: string[] | null;
  stopGraceSeconds: number;
  memoryPollMs: number;
  startTimeoutMs: number;
  inheritedEnv: Record<string, string>;
  supervisorScript: string;
  nodePath: string;
}

export function parseProcessRunnerOptions(options: ProcessRunnerOptions): ProcessRunnerConfig {
  const issues: ValidationIssue[] = [];
  for (const key of ["stateDir", "cacheDir"] as const) {
    if (typeof options[key] !== "string" || !isAbsolute(options[key])) issues.push({ path: key, message: "must be an absolute path" });
  }
  const engineCommand = options.engineCommand ?? null;
  if (engineCommand !== null && (!engineCommand[0] || engineCommand.some((a) => typeof a !== "string"))) {
    issues.push({ path: "engineCommand", message: "must be a non-empty list of strings (the program and its arguments)" });
  }
  const stopGraceSeconds = options.stopGraceSeconds ?? 10;
  if (!Number.isInteger(stopGraceSeconds) || stopGraceSeconds < 0) issues.push({ path: "stopGraceSeconds", message: "must be a whole number of seconds, 0 or more" });
  const memoryPollMs = options.memoryPollMs ?? 200;
  if (!Number.isInteger(memoryPollMs) || memoryPollMs < 10) issues.push({ path: "memoryPollMs", message: "must be a whole number of ms, 10 or more" });
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  if (!Number.isInteger(startTimeoutMs) || startTimeoutMs < 100) issues.push({ path: "startTimeoutMs", message: "must be a whole number of ms, 100 or more" });
  if (issues.length > 0) throw validationError("invalid process runner options", issues);

  const hostEnv = options.hostEnv ?? process.env;
  const inheritedEnv: Record<string, string> = {};
  for (const name of options.inheritEnv ?? INHERITED_ENV) {
    const value = hostEnv[name];
    if (value !== undefined) inheritedEnv[name] = value;
  }
  return {
    stateDir: options.stateDir,
    cacheDir: options.cacheDir,
    engineCommand,
    stopGraceSeconds,
    memoryPollMs,
    startTimeoutMs,
    inheritedEnv,
    supervisorScript: options.supervisorScript ?? fileURLToPath(new URL("./process-supervisor.js", import.meta.url)),
    nodePath: options.nodePath ?? process.execPath,
  };
}

/** The engine's whole environment: the inherited host variables, the spec's, then the cache directory. */
export function engineEnv(inherited: Record<string, string>, specEnv: Record<string, string>, cacheDir: string): Record<string, string> {
  return { ...inherited, ...specEnv, [ENGINE_ENV.cacheDir]: cacheDir };
}

/**
 * `[node, <@ferry/engine>/dist/engine.mjs]`, found the way Node finds packages: in `node_modules` of
 * `from` and its parents. Looked for by path rather than `require.resolve`, which needs the engine's
 * exports map to expose that file.
 */
export function resolveEngineCommand(from: string = dirname(fileURLToPath(import.meta.url)), nodePath: string = process.execPath): string[] {
  for (let dir = from; ; dir = dirname(dir)) {
    const root = join(dir, "node_modules", "@ferry", "engine");
    if (existsSync(join(root, "package.json"))) {
      const entry = join(root, "dist", "engine.mjs");
      if (!existsSync(entry)) throw new FerryError("internal", `@ferry/engine is installed at ${root} but not built (no dist/engine.mjs); run npm run build, or set the process backend's engineCommand`);
      return [nodePath, entry];
    }
    if (dirname(dir) === dir) break;
  }
  throw new FerryError("internal", `@ferry/engine is not installed where ${from} can find it; install it beside @ferry/managed-runner, or set the process backend's engineCommand`);
}
