import { randomBytes } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { isFerryError, parseEntrypoint, type EntrypointLanguage } from "@ferry/core";
import { EngineError } from "./errors.js";
import { describeExit, runProcess, type ProcessOptions, type ProcessResult, type StreamName } from "./process.js";

/** The flow to run, located: the file exists; whether the function does is for the shim to find out. */
export interface FlowTarget {
  language: EntrypointLanguage;
  /** As the deployment names it, e.g. `flows/etl.py`. */
  path: string;
  file: string;
  functionName: string;
  /** The flow runs here; the entrypoint is relative to it. */
  cwd: string;
}

/** Parses `path/to/file.py:fn` and checks the file is there, relative to the working directory. */
export async function resolveEntrypoint(entrypoint: string, cwd: string): Promise<FlowTarget> {
  let parsed;
  try {
    parsed = parseEntrypoint(entrypoint);
  } catch (error) {
    if (isFerryError(error)) throw new EngineError("invalid_entrypoint", error.message, { cause: error });
    throw error;
  }
  const file = resolve(cwd, parsed.path);
  const found = await stat(file).then((s) => s.isFile(), () => false);
  if (!found) throw new EngineError("entrypoint_file_missing", `entrypoint file ${parsed.path} was not found in the repository`);
  return { language: parsed.language, path: parsed.path, file, functionName: parsed.function, cwd };
}

/** What the shims write to the error file. */
export interface FlowErrorReport {
  kind: "exception" | "file_not_found" | "function_not_found" | "load_failed" | "bad_parameters" | "result_not_serializable";
  type: string;
  message: string;
  traceback: string;
}

export type FlowOutcome =
  | { kind: "completed"; result: unknown }
  /** The flow's own code raised: FAILED. */
  | { kind: "failed"; message: string }
  /** The flow could not be run: CRASHED. */
  | { kind: "crashed"; error: EngineError }
  /** The engine was told to stop (SIGTERM): nothing is reported. */
  | { kind: "stopped" };

/**
 * What a flow process's end means, from the files the shim wrote. Pure, so every case is tested
 * without running a process.
 */
export function outcomeOfFlow(
  target: Pick<FlowTarget, "path" | "functionName">,
  exit: Pick<ProcessResult, "exitCode" | "signal" | "aborted">,
  result: { value: unknown } | null,
  error: FlowErrorReport | null,
): FlowOutcome {
  if (exit.aborted) return { kind: "stopped" };
  if (exit.signal === "SIGKILL") {
    return { kind: "crashed", error: new EngineError("killed", "the flow's process was killed (SIGKILL), most likely for exceeding the run's memory limit") };
  }
  if (error) {
    const named = error.message ? `${error.type}: ${error.message}` : error.type;
    switch (error.kind) {
      case "exception":
        return { kind: "failed", message: named };
      case "bad_parameters":
      case "result_not_serializable":
        return { kind: "failed", message: error.message };
      case "file_not_found":
        return { kind: "crashed", error: new EngineError("entrypoint_file_missing", `entrypoint file ${target.path} was not found in the repository`) };
      case "function_not_found":
        return { kind: "crashed", error: new EngineError("function_missing", error.message || `function '${target.functionName}' was not found in ${target.path}`) };
      case "load_failed":
        return { kind: "crashed", error: new EngineError("load_failed", `could not load ${target.path}: ${named}`) };
    }
  }
  if (result && exit.exitCode === 0) return { kind: "completed", result: result.value };
  return {
    kind: "crashed",
    error: new EngineError("flow_process_died", `the flow's process ${describeExit(exit)} before ${target.functionName} returned; see the run's logs`),
  };
}

export interface FlowProcessOptions {
  target: FlowTarget;
  parameters: Record<string, unknown>;
  /** The run's private directory for the parameter, result and error files. */
  scratchDir: string;
  shimDir: string;
  /** The interpreter for Python flows (the venv's, or python3). */
  python: string;
  env: Record<string, string>;
  onLine: (line: string, stream: StreamName) => void;
  /** Masks secrets in the flow's output, whole lines before long ones are cut. */
  masker?: ProcessOptions["masker"];
  signal?: AbortSignal;
  stopGraceMs?: number;
  run?: (options: ProcessOptions) => Promise<ProcessResult>;
  /** Called once the flow's process is about to start: the moment the run is RUNNING. */
  onStart?: () => Promise<void>;
}

/** Runs the flow's function in its own process through a shim, and reads what it reported. */
export async function runFlow(options: FlowProcessOptions): Promise<FlowOutcome> {
  const { target } = options;
  const id = randomBytes(4).toString("hex");
  const files = {
    parameters: join(options.scratchDir, `parameters-${id}.json`),
    result: join(options.scratchDir, `result-${id}.json`),
    error: join(options.scratchDir, `error-${id}.json`),
  };
  await writeFile(files.parameters, JSON.stringify(options.parameters));
  let bundle: string | null = null;
  try {
    let command: string;
    let args: string[];
    const env = { ...options.env };
    if (target.language === "python") {
      command = options.python;
      // The path as the deployment names it (relative to the working directory): the shim's messages show it.
      args = ["-u", join(options.shimDir, "run-flow.py"), target.path, target.functionName, files.parameters, files.result, files.error];
    } else {
      let moduleFile = target.file;
      if (/\.m?ts$/.test(target.file)) {
        bundle = await bundleTypeScript(target, id);
        moduleFile = bundle;
      }
      env.FERRY_FLOW_DISPLAY_FILE = target.path;
      command = process.execPath;
      args = ["--enable-source-maps", join(options.shimDir, "run-flow.mjs"), moduleFile, target.functionName, files.parameters, files.result, files.error];
    }
    await options.onStart?.();
    const run = options.run ?? runProcess;
    let exit: ProcessResult;
    try {
      exit = await run({ command, args, cwd: target.cwd, env, onLine: options.onLine, masker: options.masker, signal: options.signal, stopGraceMs: options.stopGraceMs });
    } catch (error) {
      return { kind: "crashed", error: new EngineError("load_failed", `could not start ${command} to run ${target.path}: ${(error as Error).message}`, { cause: error }) };
    }
    const result = await readJson<{ value: unknown }>(files.result);
    const report = await readJson<FlowErrorReport>(files.error);
    return outcomeOfFlow(target, exit, result, report);
  } catch (error) {
    if (error instanceof EngineError) return { kind: "crashed", error };
    throw error;
  } finally {
    if (bundle) await rm(bundle, { force: true }).catch(() => undefined);
  }
}

/**
 * Bundles a TypeScript entry file (and the local modules it imports) into one ES module beside it,
 * so its bare imports resolve from the project's node_modules, then the job's packages.
 */
export async function bundleTypeScript(target: FlowTarget, id: string): Promise<string> {
  const outfile = join(dirname(target.file), `.ferry-flow-${id}.mjs`);
  const esbuild = await import("esbuild");
  try {
    await esbuild.build({
      entryPoints: [target.file],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      target: `node${process.versions.node.split(".")[0]}`,
      // Stack traces point at the TypeScript the user wrote (the runner runs node --enable-source-maps).
      sourcemap: "inline",
      absWorkingDir: target.cwd,
      logLevel: "silent",
    });
  } catch (error) {
    const messages = (error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors ?? [];
    const text = messages.length
      ? messages.slice(0, 5).map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text)).join("; ")
      : (error as Error).message;
    throw new EngineError("load_failed", `could not bundle ${target.path}: ${text}`, { cause: error });
  }
  return outfile;
}

async function readJson<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new EngineError("flow_process_died", `the flow's ${basename(path)} is not valid JSON: ${(error as Error).message}`);
  }
}
