import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { delimiter, isAbsolute, join, relative, resolve } from "node:path";
import { ENGINE_ENV, envReferences, isFerryError, isTerminal, parseSourceUrl, runEnv, storableText, type FlowRun, type LogLevel, type SetState } from "@ferry/core";
import type { EngineApi, RunSource } from "./api.js";
import type { EngineConfig } from "./config.js";
import { parsePackageLists } from "./dep-cache.js";
import { EngineError, isEngineError } from "./errors.js";
import { resolveEntrypoint, runFlow, type FlowOutcome } from "./flow-runner.js";
import { cloneRepository, sameHost } from "./git.js";
import { openBlobSource } from "./blob-module.js";
import { downloadBlobSource } from "./blob-source.js";
import {
  createVenv,
  layerVenv,
  linkNodeModules,
  npmInstallProject,
  pipInstall,
  prepareJobPackages,
  runTool,
  lastLines,
  seconds,
  type EngineLog,
  type ToolContext,
} from "./installers.js";
import { StderrClassifier } from "./log-lines.js";
import { LogShipper, type LogSource } from "./log-shipper.js";
import { redactUrl, SecretMasker } from "./masking.js";
import { describeExit } from "./process.js";
import { describeStep, planPullSteps, type PullStep } from "./pull-steps.js";

export interface EngineDeps {
  api: EngineApi;
  /** Aborted on SIGTERM: the flow is stopped, logs are flushed, and no state is reported. */
  signal: AbortSignal;
  /** The engine's own output (a container's log, the process backend's tail). */
  print: (line: string) => void;
  engineVersion: string;
}

export type EngineResult =
  /** A final state was reported (or the run had one already): exit 0. */
  | { kind: "reported"; state: SetState["type"] | null }
  /** Stopped by a signal: nothing reported, the server decides. */
  | { kind: "stopped" }
  /** The final state could not be reported: exit non-zero, so the server marks the run from the exit. */
  | { kind: "unreported"; error: unknown }
  /** A process of the run was killed from outside (out of memory, most likely): the server decides from what it knows. */
  | { kind: "killed"; message: string };

/** Messages the API takes are capped; a traceback belongs in the logs anyway. */
const MAX_MESSAGE = 4000;

/** After SIGTERM the runner kills the engine soon: the last lines get this long. */
const STOPPED_FLUSH_MS = 1500;

/** Failures a smaller batch may not meet: a line the server cannot take, a body too large. */
const CONTENT_ERRORS = new Set(["validation_failed", "payload_too_large"]);

/** Runs the flow run the engine was started for, from reading it to reporting its final state. */
export async function runEngine(config: EngineConfig, deps: EngineDeps): Promise<EngineResult> {
  const masker = new SecretMasker([config.runToken]);
  const shipper = new LogShipper((logs) => deps.api.writeLogs(logs), {
    intervalMs: config.logFlushIntervalMs,
    maxBatch: config.logBatchSize,
    memoryLimitBytes: config.logMemoryLimitBytes,
    spoolDir: config.scratchRoot,
    spoolLimitBytes: config.logSpoolLimitBytes,
    retryMaxDelayMs: config.logRetryMaxDelayMs,
    isRetryable: (error) => isFerryError(error) && error.retryable,
    isAboutContent: (error) => isFerryError(error) && CONTENT_ERRORS.has(error.code),
    onDropped: (count, error) =>
      deps.print(masker.mask(`[engine] ${count === 1 ? "1 log line" : `${count} log lines`} could not be sent to the server: ${(error as Error).message}`)),
    onRetrying: (error, attempt, _delay, waiting) => {
      if (attempt === 1) deps.print(masker.mask(`[engine] could not send log lines to the server, trying again until it takes them (${waiting} waiting): ${(error as Error).message}`));
    },
    onRecovered: (failures, waiting) => deps.print(`[engine] the server takes log lines again, after ${failures} failed attempts; sending the ${waiting} that waited`),
  });
  const emit = (source: LogSource, level: LogLevel, raw: string) => {
    const message = storableText(masker.mask(raw));
    shipper.add({ level, message, source, timestamp: new Date().toISOString() });
    deps.print(`[${source}] ${message}`);
  };
  const log: EngineLog = {
    info: (m) => emit("engine", "info", m),
    warn: (m) => emit("engine", "warning", m),
    error: (m) => emit("engine", "error", m),
    tool: (m) => emit("engine", "info", m),
  };

  let run: FlowRun;
  try {
    run = await deps.api.getFlowRun();
  } catch (error) {
    deps.print(masker.mask(`[engine] cannot read flow run ${config.flowRunId}: ${(error as Error).message}`));
    return { kind: "unreported", error };
  }
  if (isTerminal(run.state.type) || run.state.type === "CANCELLING") {
    deps.print(`[engine] flow run ${run.id} is ${run.state.type} already; nothing to do`);
    return { kind: "reported", state: null };
  }

  const started = Date.now();
  log.info(`Ferry engine ${deps.engineVersion}: flow run '${run.name}' of ${run.flow_name}/${run.deployment_name}`);
  let workDir: string | null = null;
  let outcome: FlowOutcome;
  try {
    workDir = await mkdtemp(join(config.scratchRoot, "ferry-run-"));
    outcome = await setUpAndRun(config, deps, run, workDir, { log, masker, emit });
  } catch (error) {
    outcome = { kind: "crashed", error: isEngineError(error) ? error : new EngineError("internal", `the engine failed: ${(error as Error).message}`, { cause: error }) };
  }
  if (deps.signal.aborted) outcome = { kind: "stopped" };

  try {
    if (outcome.kind === "stopped") {
      log.warn("the engine was told to stop: the flow's process (if it had started) was stopped, and no state is reported");
      await shipper.close(STOPPED_FLUSH_MS);
      return { kind: "stopped" };
    }
    if (outcome.kind === "crashed" && outcome.error.code === "superseded") {
      log.warn(outcome.error.message);
      await shipper.close(config.logFlushTimeoutMs);
      return { kind: "stopped" };
    }
    if (outcome.kind === "crashed" && outcome.error.code === "killed") {
      log.error(outcome.error.message);
      await shipper.close(config.logFlushTimeoutMs);
      return { kind: "killed", message: outcome.error.message };
    }
    const state = stateFor(outcome, masker);
    if (outcome.kind === "completed") log.info(`the flow completed in ${seconds(started)}`);
    else if (outcome.kind === "failed") log.error(`the flow failed: ${outcome.message}`);
    else log.error(`the run crashed: ${outcome.error.message}`);
    // Bounded: a server still away must not keep the run from ending (the state report retries on its own).
    await shipper.close(config.logFlushTimeoutMs);
    return await report(deps, state, masker);
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true }).catch((e: Error) => deps.print(`[engine] could not remove ${workDir}: ${e.message}`));
  }
}

function stateFor(outcome: Exclude<FlowOutcome, { kind: "stopped" }>, masker: SecretMasker): SetState {
  const cap = (s: string) => {
    const m = storableText(masker.mask(s));
    return m.length > MAX_MESSAGE ? `${m.slice(0, MAX_MESSAGE - 3)}...` : m;
  };
  switch (outcome.kind) {
    case "completed":
      // The return value is stored and shown as the run's result: no secret in it either.
      return { type: "COMPLETED", result: masker.maskValue(outcome.result) };
    case "failed":
      return { type: "FAILED", message: cap(outcome.message) };
    case "crashed":
      return { type: "CRASHED", message: cap(outcome.error.message) };
  }
}

async function report(deps: EngineDeps, state: SetState, masker: SecretMasker): Promise<EngineResult> {
  let error: unknown;
  try {
    await deps.api.setState(state);
    return { kind: "reported", state: state.type };
  } catch (first) {
    error = first;
  }
  if (state.type === "COMPLETED" && isFerryError(error) && (error.code === "payload_too_large" || error.code === "validation_failed")) {
    // The flow did complete; only its return value cannot be stored.
    try {
      await deps.api.setState({ type: "COMPLETED", message: `the flow's return value could not be stored: ${error.message}` });
      return { kind: "reported", state: "COMPLETED" };
    } catch (second) {
      error = second;
    }
  }
  if (isFerryError(error, "invalid_transition")) {
    // The server decided the run's end already (cancelled, timed out): that decision stands.
    deps.print(masker.mask(`[engine] the run's state was not changed to ${state.type}: ${error.message}`));
    return { kind: "reported", state: null };
  }
  deps.print(masker.mask(`[engine] could not report ${state.type}: ${(error as Error).message}`));
  return { kind: "unreported", error };
}

interface Output {
  log: EngineLog;
  masker: SecretMasker;
  emit: (source: LogSource, level: LogLevel, message: string) => void;
}

/** The run's state while pull steps run: where it is, and what it made. */
interface Workspace {
  root: string;
  /** The engine's own files: venv, askpass script, result files. */
  internal: string;
  cwd: string;
  /** The run's own venv, made by the first step that installs Python packages. */
  venv: string | null;
  /** The commit the run's own source was fetched at, once cloned. */
  commit?: string;
}

async function setUpAndRun(config: EngineConfig, deps: EngineDeps, run: FlowRun, root: string, out: Output): Promise<FlowOutcome> {
  const { log } = out;
  // Side by side: each is a round trip to a server that may be busy.
  const [deployment, source] = await Promise.all([
    apiCall("read the deployment", () => deps.api.getDeployment(run.deployment_id)),
    apiCall("read the run's source", () => deps.api.getSource()),
  ]);
  out.masker.add(source.token, { username: source.username });
  for (const field of source.blob?.secret_fields ?? []) out.masker.add(source.blob?.credentials?.[field]);
  const location = parseSourceUrl(source.git_url);

  const jobConfiguration = run.job_configuration ?? {};
  const packages = parsePackageLists(jobConfiguration);
  // References to the workspace's variables and secrets ({{ secret.NAME }}) are resolved by the server
  // for this engine only: their values are in no job definition, and secrets are masked from here on.
  const refs = envReferences(runEnv(deployment.job_variables, run.job_variables));
  let resolved: Record<string, string> = {};
  if (refs.variables.length || refs.secrets.length) {
    const answer = await apiCall("resolve the run's variables and secrets", () => deps.api.getEnv());
    for (const value of answer.masked) out.masker.add(value);
    resolved = answer.env;
  }
  const env = { ...childEnv(config.env, jobConfiguration.env), ...resolved };
  const steps = planPullSteps(deployment.pull_steps, location.kind === "git" ? { git_url: source.git_url, branch: source.branch, commit: source.commit } : null);

  const ws: Workspace = { root, internal: join(root, ".ferry"), cwd: root, venv: null };
  await mkdir(ws.internal, { recursive: true });
  const tools: ToolContext = { env, log, signal: deps.signal, masker: out.masker };

  if (location.kind === "blob") {
    if (!source.blob) throw new EngineError("download_failed", `the server gave no reader for ${location.url}: upgrade the server to the engine's version`, { retryable: false });
    const started = Date.now();
    log.info(`downloading ${location.url}`);
    const reader = await openBlobSource(source.blob.module, location, { credentials: source.blob.credentials, env });
    const destination = join(ws.root, "source");
    const result = await downloadBlobSource({
      location,
      reader,
      destination,
      cacheDir: config.cacheDir ? join(config.cacheDir, "sources") : null,
      scratchDir: join(ws.internal, "download"),
      signal: deps.signal,
      log: (line) => log.warn(line),
    });
    const fetched = result.objects - result.cached;
    log.info(
      `downloaded ${location.url}: ${result.objects === 1 ? "1 object" : `${result.objects} objects`} (${result.bytes} bytes), ${fetched} fetched, ${result.cached} unchanged from the cache, in ${seconds(started)}`,
    );
    ws.cwd = destination;
  }

  for (const [index, step] of steps.entries()) {
    if (deps.signal.aborted) return { kind: "stopped" };
    log.info(`pull step ${index + 1}/${steps.length}: ${describeStep(step)}`);
    await runStep(step, ws, source, config, tools);
  }

  // Before the packages: a missing file should not cost an install first.
  const target = await resolveEntrypoint(deployment.entrypoint, ws.cwd);

  const jobEnv = await prepareJobPackages(tools, packages, {
    python: config.python,
    scratchVenv: join(ws.internal, "venv"),
    scratchNpmPrefix: join(ws.internal, "npm"),
    existingVenv: ws.venv,
    cacheDir: config.cacheDir,
    engineVersion: deps.engineVersion,
  });

  // The flow's interpreter: the run's venv (with the cached one layered under it), the cached venv, or python3.
  const venv = ws.venv ?? jobEnv.venv;
  const binDirs: string[] = [];
  if (ws.venv && jobEnv.venv && jobEnv.venv !== ws.venv) {
    await layerVenv(ws.venv, jobEnv.venv);
    binDirs.push(join(ws.venv, "bin"), join(jobEnv.venv, "bin"));
  } else if (venv) binDirs.push(join(venv, "bin"));
  const flowEnv: Record<string, string> = { ...env, PYTHONUNBUFFERED: "1" };
  if (venv) {
    flowEnv.VIRTUAL_ENV = venv;
    flowEnv.PATH = [...binDirs, env.PATH ?? ""].filter(Boolean).join(delimiter);
  }
  if (jobEnv.nodeModules) {
    await linkNodeModules(ws.root, jobEnv.nodeModules);
    flowEnv.NODE_PATH = [jobEnv.nodeModules, env.NODE_PATH ?? ""].filter(Boolean).join(delimiter);
    if (!isInside(ws.root, ws.cwd)) log.warn(`the working directory is outside the run's directory: ES module imports of npm_packages may not resolve (NODE_PATH serves require() only)`);
  }

  log.info(`running ${deployment.entrypoint} with parameters ${JSON.stringify(Object.keys(run.parameters))}`);
  const classifier = new StderrClassifier();
  return runFlow({
    target,
    parameters: run.parameters,
    scratchDir: ws.internal,
    shimDir: config.shimDir,
    python: venv ? join(venv, "bin", "python") : config.python,
    env: flowEnv,
    masker: out.masker,
    signal: deps.signal,
    stopGraceMs: config.stopGraceMs,
    onStart: async () => {
      try {
        await deps.api.setState({ type: "RUNNING", ...(ws.commit && /^[0-9a-f]{7,40}$/i.test(ws.commit) ? { source_commit: ws.commit } : {}) });
      } catch (error) {
        if (isFerryError(error, "invalid_transition")) {
          throw new EngineError("superseded", "the run was cancelled or ended while it was being set up; its flow is not started", { cause: error });
        }
        throw new EngineError("api_failed", `could not report RUNNING: ${(error as Error).message}`, { cause: error });
      }
    },
    onLine: (line, stream) => out.emit("flow", stream === "stderr" ? classifier.classify(line) : "info", line),
  });
}

async function runStep(step: PullStep, ws: Workspace, source: RunSource, config: EngineConfig, tools: ToolContext): Promise<void> {
  const dir = (d: string | null) => (d ? resolve(ws.cwd, d) : ws.cwd);
  switch (step.kind) {
    case "git_clone": {
      const name = repositoryDirName(step.repository);
      let destination = join(ws.root, name);
      for (let n = 2; existsSync(destination); n++) destination = join(ws.root, `${name}-${n}`);
      const useToken = source.token !== null && (step.repository === source.git_url || sameHost(step.repository, source.git_url));
      const started = Date.now();
      const { commit } = await cloneRepository({
        repository: step.repository,
        branch: step.branch,
        commit: step.commit,
        destination,
        credentials: useToken ? { username: source.username, token: source.token! } : null,
        scratchDir: join(ws.internal, "git"),
        env: tools.env,
        signal: tools.signal,
        masker: tools.masker,
        onLine: (line) => tools.log.tool(line),
      });
      tools.log.info(`cloned ${redactUrl(step.repository)} at ${commit.slice(0, 12)} in ${seconds(started)}`);
      // The run's own source: its commit is reported with RUNNING, so a re-run fetches the same code.
      if (step.repository === source.git_url) ws.commit ??= commit;
      ws.cwd = destination;
      return;
    }
    case "set_working_directory": {
      const target = dir(step.directory);
      if (!existsSync(target)) {
        throw new EngineError("step_failed", `set_working_directory: ${step.directory} does not exist (relative to ${displayDir(ws, ws.cwd)})`);
      }
      ws.cwd = target;
      return;
    }
    case "pip_install_requirements": {
      const directory = dir(step.directory);
      const file = resolve(directory, step.requirementsFile);
      if (!existsSync(file)) {
        throw new EngineError("install_failed", `pip_install_requirements: ${step.requirementsFile} was not found in ${displayDir(ws, directory)}`, { retryable: false });
      }
      if (!ws.venv) {
        ws.venv = join(ws.internal, "venv");
        await createVenv(tools, config.python, ws.venv);
      }
      await pipInstall(tools, ws.venv, ["-r", file], directory, step.requirementsFile);
      return;
    }
    case "npm_install": {
      await npmInstallProject(tools, dir(step.directory));
      return;
    }
    case "run_shell_script": {
      await runTool(tools, "sh", ["-e", "-c", step.script], dir(step.directory), (r) =>
        new EngineError("step_failed", `run_shell_script ${describeExit(r)}${lastLines(r.tail)}`),
      );
      return;
    }
  }
}

/** The environment of every tool and of the flow: the engine's, the job's `env` over it, never the run's tokens. */
export function childEnv(base: Record<string, string>, jobEnv: unknown): Record<string, string> {
  const env: Record<string, string> = { ...base };
  if (jobEnv && typeof jobEnv === "object" && !Array.isArray(jobEnv)) {
    for (const [k, v] of Object.entries(jobEnv)) if (v !== undefined && v !== null) env[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  // The flow's code may read its run's id and the server's URL, but it does not act as the engine.
  delete env[ENGINE_ENV.runToken];
  delete env[ENGINE_ENV.bootstrapToken];
  return env;
}

/** `https://github.com/acme/flows.git` → `flows`. */
export function repositoryDirName(repository: string): string {
  const trimmed = repository.replace(/[/\\]+$/, "").replace(/\.git$/, "");
  const name = (trimmed.split(/[/:\\]/).pop() ?? "").replace(/[^A-Za-z0-9._-]/g, "-");
  return name && !name.startsWith(".") && name !== "node_modules" ? name : "repo";
}

async function apiCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new EngineError("api_failed", `could not ${what}: ${(error as Error).message}`, { cause: error });
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function displayDir(ws: Workspace, path: string): string {
  if (!isInside(ws.root, path)) return path;
  const rel = relative(ws.root, path);
  return rel === "" ? "the run's directory" : rel;
}
