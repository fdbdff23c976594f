import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { watch } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { FerryError, isFerryError, type RunnerBackend, type RunnerExit, type RunnerInstance, type RunnerLaunchSpec, type RunnerStarted } from "@ferry/core";
import { NAME_SAFE, validateLaunchSpec } from "./launch-spec.js";
import { TAIL_LINES } from "./line-tail.js";
import { engineEnv, parseProcessRunnerOptions, resolveEngineCommand, type ProcessRunnerConfig, type ProcessRunnerOptions } from "./process-options.js";
import {
  readJson,
  runFile,
  toRunnerExit,
  writeJsonAtomic,
  type ExitRecord,
  type InstanceRecord,
  type SupervisorLaunch,
  type SupervisorRecord,
} from "./process-state.js";
import { isSameProcess, signal } from "./process-tree.js";
import { ProcessWarmEngines } from "./process-warm-engines.js";

const MIB = 1024 * 1024;
/** How often a waiter looks at a run besides the directory's change events (which say when it ended). */
const POLL_MS = 500;

/**
 * Runs each flow run's engine as a child process of a small detached supervisor, for a machine without
 * Docker. It gives runs NO isolation: the engine runs as the server's user, sees its files and network,
 * and is limited in memory only where /proc lets the supervisor measure it (Linux), by sampling. CPU
 * limits and the image are not applied. Runs outlive the server; their state is in `stateDir`.
 */
export class ProcessRunnerBackend implements RunnerBackend {
  readonly name = "process";
  readonly isolated = false;
  private readonly config: ProcessRunnerConfig;
  private engineCommand: string[] | null;
  readonly warm: ProcessWarmEngines;

  constructor(options: ProcessRunnerOptions) {
    this.config = parseProcessRunnerOptions(options);
    this.engineCommand = this.config.engineCommand;
    this.warm = new ProcessWarmEngines({
      config: this.config,
      engineCommand: () => (this.engineCommand ??= resolveEngineCommand()),
      runDir: (id) => this.runDir(id),
      start: (spec) => this.start(spec),
      existing: async (spec) => {
        const dir = this.runDir(spec.flowRunId);
        const found = await this.launched(dir, spec.flowRunId);
        if (found === "absent") return null;
        if (found === "abandoned") {
          await io(`clear the abandoned launch of run ${spec.flowRunId}`, () => rm(dir, { recursive: true, force: true }));
          return null;
        }
        return found;
      },
      changeOrTimeout: (dir, ms) => changeOrTimeout(dir, ms),
    });
  }

  async start(spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    validateLaunchSpec(spec);
    this.engineCommand ??= resolveEngineCommand();
    const dir = this.runDir(spec.flowRunId);
    await io("create the state directory", () => mkdir(this.config.stateDir, { recursive: true, mode: 0o700 }));
    for (;;) {
      const existing = await this.launched(dir, spec.flowRunId);
      if (existing === "abandoned") {
        await io(`clear the abandoned launch of run ${spec.flowRunId}`, () => rm(dir, { recursive: true, force: true }));
        continue;
      }
      if (existing !== "absent") return existing;
      if (await this.createRunDir(dir, spec)) return this.launch(dir, spec, this.engineCommand);
    }
  }

  async wait(id: string, abort?: AbortSignal): Promise<RunnerExit> {
    abort?.throwIfAborted();
    const dir = this.knownDir(id);
    for (;;) {
      const exit = await this.read<ExitRecord>(dir, "exit");
      if (exit) return toRunnerExit(exit);
      const instance = await this.read<InstanceRecord>(dir, "instance");
      if (!instance) throw unknown(id);
      const lost = await this.lostReason(dir, instance);
      if (lost) return toRunnerExit(await this.recordLost(dir, instance, lost));
      await changeOrTimeout(dir, POLL_MS, abort);
      abort?.throwIfAborted();
    }
  }

  /** Asks the supervisor to stop the run (TERM, then KILL after its grace) and waits for the end. */
  async stop(id: string, reason: string): Promise<void> {
    const dir = this.knownDir(id);
    if (await this.read<ExitRecord>(dir, "exit")) return;
    const instance = await this.read<InstanceRecord>(dir, "instance");
    if (!instance) throw unknown(id);
    await io(`record the stop of run ${id}`, () => writeJsonAtomic(runFile(dir, "stop"), { reason, requestedAt: new Date().toISOString() }));
    const supervisor = await this.supervisorOf(dir, instance);
    if (supervisor && (await isSameProcess(supervisor.supervisorPid, supervisor.supervisorStartTime))) signal(supervisor.supervisorPid, "SIGTERM");
    try {
      await this.wait(id, AbortSignal.timeout((this.config.stopGraceSeconds + 5) * 1000));
    } catch (error) {
      if (isFerryError(error, "not_found")) return; // removed meanwhile
      if ((error as Error).name !== "TimeoutError") throw error;
      // The supervisor did not end it (stopped, or stuck): end both, and let wait record what is known.
      if (supervisor) await killRun(supervisor);
      await this.wait(id);
    }
  }

  /** Kills the run if it still runs and deletes its directory; an unknown id is nothing to remove. */
  async remove(id: string): Promise<void> {
    if (!NAME_SAFE.test(id)) return;
    const dir = this.runDir(id);
    if (!(await this.read<ExitRecord>(dir, "exit"))) {
      const supervisor = await this.read<SupervisorRecord>(dir, "supervisor");
      if (supervisor) await killRun(supervisor);
    }
    await io(`remove the directory of run ${id}`, () => rm(dir, { recursive: true, force: true }));
  }

  async list(): Promise<RunnerInstance[]> {
    let names: string[];
    try {
      names = await readdir(this.config.stateDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new FerryError("internal", `could not list ${this.config.stateDir}: ${(error as Error).message}`, { cause: error });
    }
    const instances = await Promise.all(names.filter((n) => NAME_SAFE.test(n)).map(async (name): Promise<RunnerInstance | null> => {
      const dir = this.runDir(name);
      const instance = await this.read<InstanceRecord>(dir, "instance");
      if (!instance) return null;
      const exit = await this.read<ExitRecord>(dir, "exit");
      const supervisor = await this.read<SupervisorRecord>(dir, "supervisor");
      const running = !exit && (supervisor ? await isSameProcess(supervisor.supervisorPid, supervisor.supervisorStartTime) : Date.now() <= Date.parse(instance.launchDeadline));
      return { id: name, flowRunId: instance.flowRunId, workspaceId: instance.workspaceId, running, startedAt: exit?.startedAt ?? supervisor?.startedAt ?? null };
    }));
    return instances.filter((i): i is RunnerInstance => i !== null);
  }

  /**
   * What is there for a run already: its start (once its supervisor reported), "absent", or
   * "abandoned" when the process launching it stopped before the supervisor ran.
   */
  private async launched(dir: string, id: string): Promise<RunnerStarted | "absent" | "abandoned"> {
    const instance = await this.read<InstanceRecord>(dir, "instance");
    if (!instance) return "absent";
    const supervisor = await this.supervisorOf(dir, instance);
    if (supervisor) return { id, startedAt: supervisor.startedAt };
    const exit = await this.read<ExitRecord>(dir, "exit");
    if (exit) return { id, startedAt: exit.startedAt };
    return (await this.read<InstanceRecord>(dir, "instance")) ? "abandoned" : "absent";
  }

  /** The supervisor's record, waiting for it while a launch is in progress; null if it never came. */
  private async supervisorOf(dir: string, instance: InstanceRecord): Promise<SupervisorRecord | null> {
    for (;;) {
      const supervisor = await this.read<SupervisorRecord>(dir, "supervisor");
      if (supervisor) return supervisor;
      if (await this.read<ExitRecord>(dir, "exit")) return null;
      if (Date.now() > Date.parse(instance.launchDeadline) || !(await this.read<InstanceRecord>(dir, "instance"))) return null;
      await changeOrTimeout(dir, 50);
    }
  }

  /** Makes the run's directory appear whole, by rename; false when another start made it first. */
  private async createRunDir(dir: string, spec: RunnerLaunchSpec): Promise<boolean> {
    const temporary = join(this.config.stateDir, `.new-${spec.flowRunId}-${randomBytes(4).toString("hex")}`);
    const now = Date.now();
    const record: InstanceRecord = {
      flowRunId: spec.flowRunId,
      workspaceId: spec.workspaceId,
      createdAt: new Date(now).toISOString(),
      launchDeadline: new Date(now + this.config.startTimeoutMs).toISOString(),
    };
    await io(`prepare the directory of run ${spec.flowRunId}`, async () => {
      await mkdir(join(temporary, "work"), { recursive: true, mode: 0o700 });
      await writeJsonAtomic(join(temporary, "instance.json"), record);
    });
    try {
      await rename(temporary, dir);
      return true;
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return false;
      throw new FerryError("internal", `could not create the directory of run ${spec.flowRunId}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async launch(dir: string, spec: RunnerLaunchSpec, command: string[]): Promise<RunnerStarted> {
    // Per workspace, like the Docker backend's volumes: runs of two workspaces never share a cache.
    const cacheDir = join(this.config.cacheDir, spec.workspaceId, spec.cacheKey);
    const launch: SupervisorLaunch = {
      command,
      env: engineEnv(this.config.inheritedEnv, spec.env, cacheDir),
      cwd: join(dir, "work"),
      memoryLimitBytes: spec.memoryMib * MIB,
      memoryPollMs: this.config.memoryPollMs,
      stopGraceSeconds: this.config.stopGraceSeconds,
      tailLines: TAIL_LINES,
    };
    const fail = async (message: string, cause?: unknown): Promise<never> => {
      await rm(dir, { recursive: true, force: true });
      throw new FerryError("internal", `could not start run ${spec.flowRunId} on the process backend: ${message}`, { cause });
    };
    try {
      await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      return fail(`its cache directory ${cacheDir} could not be created (${(error as Error).message})`, error);
    }

    const log = await open(runFile(dir, "log"), "a", 0o600);
    let child: ReturnType<typeof spawn>;
    try {
      // Detached: a session and process group of its own, so it outlives this server and its signals.
      child = spawn(this.config.nodePath, [this.config.supervisorScript, dir], {
        cwd: dir,
        detached: true,
        env: this.config.inheritedEnv,
        stdio: ["pipe", "ignore", log.fd],
      });
    } finally {
      await log.close();
    }
    const early = new Promise<string>((resolve) => {
      child.once("error", (error) => resolve(`the supervisor could not be started: ${error.message}`));
      child.once("exit", (code, sig) => resolve(`the supervisor exited at once (${sig ?? `code ${code}`})`));
    });
    child.stdin!.on("error", () => {}); // a supervisor that died is reported through `early`
    child.stdin!.end(`${JSON.stringify(launch)}\n`);
    child.unref();

    const deadline = Date.now() + this.config.startTimeoutMs;
    let ended: string | null = null;
    void early.then((why) => (ended = why));
    for (;;) {
      // Taken before the reads: a quick run's supervisor may write its records and exit between them.
      const endedBefore: string | null = ended;
      const supervisor = await this.read<SupervisorRecord>(dir, "supervisor");
      const exit = await this.read<ExitRecord>(dir, "exit");
      if (exit?.spawnError) return fail(`${exit.spawnError}; check the process backend's engineCommand`);
      if (supervisor || exit) return { id: spec.flowRunId, startedAt: (supervisor ?? exit)!.startedAt };
      if (!(await this.read<InstanceRecord>(dir, "instance"))) throw new FerryError("not_found", `run ${spec.flowRunId} was removed while it was starting`);
      if (endedBefore !== null || Date.now() > deadline) {
        if (endedBefore === null) child.kill("SIGKILL");
        const why = endedBefore ?? `the supervisor did not report within ${this.config.startTimeoutMs} ms`;
        const output = (await readFile(runFile(dir, "log"), "utf8").catch(() => "")).trim();
        return fail(`${why}${output ? `: ${output.split("\n").slice(-5).join(" | ")}` : ""}`);
      }
      await changeOrTimeout(dir, 50);
    }
  }

  /** Why a run without an exit record will never get one from its supervisor, or null while it may. */
  private async lostReason(dir: string, instance: InstanceRecord): Promise<string | null> {
    const supervisor = await this.read<SupervisorRecord>(dir, "supervisor");
    if (supervisor) {
      if (await isSameProcess(supervisor.supervisorPid, supervisor.supervisorStartTime)) return null;
      // It may have written the record just before ending.
      if (await this.read<ExitRecord>(dir, "exit")) return null;
      return `the run's supervisor (pid ${supervisor.supervisorPid}) ended without recording an exit (killed, or the machine restarted); the run was killed`;
    }
    if (Date.now() <= Date.parse(instance.launchDeadline) || (await this.read<ExitRecord>(dir, "exit"))) return null;
    return "the run never started: the process launching it stopped before its supervisor ran";
  }

  /** Ends a run whose supervisor is gone (killing what is left of it) and records that. */
  private async recordLost(dir: string, instance: InstanceRecord, reason: string): Promise<ExitRecord> {
    const supervisor = await this.read<SupervisorRecord>(dir, "supervisor");
    if (supervisor) await killRun(supervisor);
    const tail = (await this.read<string[]>(dir, "tail")) ?? [];
    const record: ExitRecord = {
      exitCode: 255,
      oomKilled: false,
      startedAt: supervisor?.startedAt ?? instance.createdAt,
      finishedAt: new Date().toISOString(),
      tail: [...tail, `[ferry] ${reason}`].slice(-TAIL_LINES),
    };
    await io(`record the end of run ${instance.flowRunId}`, () => writeJsonAtomic(runFile(dir, "exit"), record));
    return record;
  }

  private runDir(flowRunId: string): string {
    return join(this.config.stateDir, flowRunId);
  }

  /** The directory of an id this backend could have given; any other id is simply unknown. */
  private knownDir(id: string): string {
    if (!NAME_SAFE.test(id)) throw unknown(id);
    return this.runDir(id);
  }

  private async read<T>(dir: string, file: Parameters<typeof runFile>[1]): Promise<T | null> {
    try {
      return await readJson<T>(runFile(dir, file));
    } catch (error) {
      throw new FerryError("internal", `could not read ${runFile(dir, file)}: ${(error as Error).message}`, { cause: error });
    }
  }
}

function unknown(id: string): FerryError {
  return new FerryError("not_found", `process-backend run '${id}' was not found; it was removed, or started with another stateDir`);
}

/** SIGKILL to the engine's group and to the supervisor, each only if it is still the recorded process. */
async function killRun(supervisor: SupervisorRecord): Promise<void> {
  if (await isSameProcess(supervisor.enginePid, supervisor.engineStartTime)) signal(-supervisor.enginePid, "SIGKILL");
  if (await isSameProcess(supervisor.supervisorPid, supervisor.supervisorStartTime)) signal(supervisor.supervisorPid, "SIGKILL");
}

async function io<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isFerryError(error)) throw error;
    throw new FerryError("internal", `could not ${action}: ${(error as Error).message}`, { cause: error });
  }
}

/** Resolves on the first change in `dir`, after `ms`, or on abort, whichever comes first. */
function changeOrTimeout(dir: string, ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      abort?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener("abort", done, { once: true });
    try {
      watcher = watch(dir, done);
      watcher.on("error", () => watcher?.close()); // the timer still wakes the caller
    } catch {
      // No watch (the directory is gone, or no inotify watches are left): the timer is the fallback.
    }
  });
}
