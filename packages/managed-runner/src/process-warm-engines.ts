import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  encodeEngineHandoff,
  ENGINE_ENV,
  FerryError,
  type RunnerLaunchSpec,
  type RunnerStarted,
  type RunnerWarmSpec,
} from "@ferry/core";
import { TAIL_LINES } from "./line-tail.js";
import { engineEnv, type ProcessRunnerConfig } from "./process-options.js";
import { readJson, runFile, writeJsonAtomic, type InstanceRecord, type SupervisorHandoff, type SupervisorLaunch, type SupervisorRecord, type WarmRecord } from "./process-state.js";
import { isSameProcess, signal } from "./process-tree.js";
import { WARM_ID_PREFIX, WarmEngineSet, type WarmEngineHandle } from "./warm-engine-set.js";

const MIB = 1024 * 1024;

/** What the process backend lends its warm engines: its configuration, and how it finds a run's state. */
export interface ProcessWarmHost {
  config: ProcessRunnerConfig;
  engineCommand(): string[];
  runDir(flowRunId: string): string;
  /** The backend's start: what a claim falls back to when the run got an instance meanwhile. */
  start(spec: RunnerLaunchSpec): Promise<RunnerStarted>;
  /** The run's existing instance, if it has one. */
  existing(spec: RunnerLaunchSpec): Promise<RunnerStarted | null>;
  /** Resolves on the next change in `dir`, or after `ms`. */
  changeOrTimeout(dir: string, ms: number): Promise<void>;
}

interface Warm extends WarmEngineHandle {
  dir: string;
  child: ChildProcess;
  record: WarmRecord;
}

/**
 * The process backend's warm engines: a supervisor and its engine started with the pool's cache
 * directory and limits, each waiting on its stdin. The supervisor's stdin is a pipe this server
 * process holds, so when the server goes away (even killed) the supervisor reads its end, kills its
 * engine and removes its directory: no warm engine outlives the server that made it.
 */
export class ProcessWarmEngines extends WarmEngineSet<Warm> {
  constructor(private readonly host: ProcessWarmHost) {
    super();
  }

  protected async start(id: string, spec: RunnerWarmSpec): Promise<Warm> {
    const { config } = this.host;
    const command = this.host.engineCommand();
    const dir = join(config.stateDir, id);
    const cacheDir = join(config.cacheDir, spec.workspaceId, spec.cacheKey);
    const fail = async (message: string, cause?: unknown): Promise<never> => {
      await rm(dir, { recursive: true, force: true });
      throw new FerryError("internal", `could not start a warm engine on the process backend: ${message}`, { cause });
    };
    try {
      await mkdir(join(dir, "work"), { recursive: true, mode: 0o700 });
      await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      return fail((error as Error).message, error);
    }
    const launch: SupervisorLaunch = {
      command,
      env: { ...config.inheritedEnv, [ENGINE_ENV.cacheDir]: cacheDir, [ENGINE_ENV.warm]: "1" },
      cwd: join(dir, "work"),
      memoryLimitBytes: spec.memoryMib * MIB,
      memoryPollMs: config.memoryPollMs,
      stopGraceSeconds: config.stopGraceSeconds,
      tailLines: TAIL_LINES,
      warm: true,
    };
    const log = await open(runFile(dir, "log"), "a", 0o600);
    let child: ChildProcess;
    try {
      child = spawn(config.nodePath, [config.supervisorScript, dir], { cwd: dir, detached: true, env: config.inheritedEnv, stdio: ["pipe", "ignore", log.fd] });
    } finally {
      await log.close();
    }
    let exited = false;
    child.once("error", () => (exited = true));
    child.once("exit", () => (exited = true));
    child.stdin!.on("error", () => {}); // a supervisor that died is seen by its exit
    child.stdin!.write(`${JSON.stringify(launch)}\n`);
    // Neither the child nor its pipe keeps this server's event loop alive; the pipe closing is the
    // supervisor's sign that the server is gone.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();

    const deadline = Date.now() + config.startTimeoutMs;
    for (;;) {
      const record = await readJson<WarmRecord>(join(dir, "warm.json"));
      if (record) {
        if (exited) return fail("the warm engine ended at once");
        const warm: Warm = { id, dir, spec, child, record, ended: false };
        child.once("exit", () => {
          warm.ended = true;
          this.forget(id);
        });
        return warm;
      }
      if (exited || Date.now() > deadline) {
        if (!exited) child.kill("SIGKILL");
        const output = (await readFile(runFile(dir, "log"), "utf8").catch(() => "")).trim();
        return fail(`${exited ? "the supervisor exited at once" : `the supervisor did not report within ${config.startTimeoutMs} ms`}${output ? `: ${output.split("\n").slice(-5).join(" | ")}` : ""}`);
      }
      await this.host.changeOrTimeout(dir, 50);
    }
  }

  protected async handOver(warm: Warm, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const existing = await this.host.existing(spec);
    if (existing) return existing;
    const dir = this.host.runDir(spec.flowRunId);
    const now = Date.now();
    const record: InstanceRecord = {
      flowRunId: spec.flowRunId,
      workspaceId: spec.workspaceId,
      createdAt: new Date(now).toISOString(),
      launchDeadline: new Date(now + this.host.config.startTimeoutMs).toISOString(),
    };
    await writeJsonAtomic(runFile(warm.dir, "instance"), record);
    try {
      // Atomic, and refused when the run's directory exists: one instance per run, as with start.
      await rename(warm.dir, dir);
    } catch (error) {
      await rm(runFile(warm.dir, "instance"), { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return this.host.start(spec);
      throw new FerryError("internal", `could not hand warm engine ${warm.id} run ${spec.flowRunId}: ${(error as Error).message}`, { cause: error });
    }
    this.forget(warm.id);
    const cacheDir = join(this.host.config.cacheDir, spec.workspaceId, spec.cacheKey);
    const handoff: SupervisorHandoff = { dir, engineLine: encodeEngineHandoff(engineEnv(this.host.config.inheritedEnv, spec.env, cacheDir)) };
    warm.child.stdin!.end(`${JSON.stringify(handoff)}\n`);
    for (;;) {
      const supervisor = await readJson<SupervisorRecord>(runFile(dir, "supervisor"));
      if (supervisor) return { id: spec.flowRunId, startedAt: supervisor.startedAt };
      const exit = await readJson<{ startedAt: string }>(runFile(dir, "exit"));
      if (exit) return { id: spec.flowRunId, startedAt: exit.startedAt };
      // A supervisor that died between the rename and its record leaves a run without one: wait's
      // "never started" path records that once the launch deadline passes.
      if (warm.ended || Date.now() > Date.parse(record.launchDeadline)) return { id: spec.flowRunId, startedAt: record.createdAt };
      await this.host.changeOrTimeout(dir, 50);
    }
  }

  protected async end(warm: Warm): Promise<void> {
    await killWarm(warm.record);
    warm.child.stdin?.destroy();
    await rm(warm.dir, { recursive: true, force: true });
  }

  /** Warm directories whose supervisor is gone (killed with its server): removed at the first prepare. */
  protected async removeLeftovers(): Promise<void> {
    await mkdir(this.host.config.stateDir, { recursive: true, mode: 0o700 });
    const names = await readdir(this.host.config.stateDir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith(WARM_ID_PREFIX))) {
      const dir = join(this.host.config.stateDir, name);
      const record = await readJson<WarmRecord>(join(dir, "warm.json")).catch(() => null);
      if (record && (await isSameProcess(record.supervisorPid, record.supervisorStartTime))) continue; // another server's
      // One without a record may be another server's being prepared right now.
      if (!record && Date.now() - ((await stat(dir).catch(() => null))?.mtimeMs ?? 0) < this.host.config.startTimeoutMs * 2) continue;
      if (record) await killWarm(record);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function killWarm(record: WarmRecord): Promise<void> {
  if (await isSameProcess(record.enginePid, record.engineStartTime)) signal(-record.enginePid, "SIGKILL");
  if (await isSameProcess(record.supervisorPid, record.supervisorStartTime)) signal(record.supervisorPid, "SIGKILL");
}
