import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { join } from "node:path";
// Type-only from core: the supervisor imports this file, and starts faster without loading core.
import type { RunnerExit } from "@ferry/core";

/**
 * A process-backend run lives in `stateDir/<flowRunId>/`, which any server process can read; that is
 * how a restarted server re-attaches. Every record is written whole (a temporary file renamed over the
 * name), so a reader never sees half of one.
 *
 * - `instance.json`: written before the supervisor starts (the directory appears with it, by rename);
 * - `supervisor.json`: the supervisor's and the engine's pids, once the engine runs;
 * - `tail.json`: the engine's last output lines, refreshed while it runs;
 * - `stop.json`: why a stop was asked for;
 * - `exit.json`: the end, written last; its presence means the run is over;
 * - `supervisor.log`: the supervisor's own errors; `work/`: the engine's working directory.
 *
 * A warm engine lives in `stateDir/warm-<random>/` with `warm.json` (its pids) and no `instance.json`,
 * so nothing lists it as a run; claiming it writes `instance.json` there and renames the directory to
 * the run's, before the supervisor is told where it now lives.
 */
export const RUN_FILES = {
  instance: "instance.json",
  supervisor: "supervisor.json",
  tail: "tail.json",
  stop: "stop.json",
  exit: "exit.json",
  log: "supervisor.log",
  work: "work",
  warm: "warm.json",
} as const;

export interface InstanceRecord {
  flowRunId: string;
  workspaceId: string;
  createdAt: string;
  /** A run with no supervisor record by then was abandoned by the process starting it. */
  launchDeadline: string;
}

export interface SupervisorRecord {
  supervisorPid: number;
  supervisorStartTime: string | null;
  /** Also the engine's process group id. */
  enginePid: number;
  engineStartTime: string | null;
  startedAt: string;
}

export interface ExitRecord extends RunnerExit {
  /** Set when the engine could not be started at all (its command is missing…): `start` fails with it. */
  spawnError?: string;
  stopReason?: string;
}

/** What the backend hands the supervisor on its stdin (the env holds the run token, so not on disk). */
export interface SupervisorLaunch {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  memoryLimitBytes: number;
  memoryPollMs: number;
  stopGraceSeconds: number;
  tailLines: number;
  /**
   * A warm engine: the engine is started with its stdin a pipe and waits there; the supervisor keeps
   * reading its own stdin for a SupervisorHandoff line, and ends the engine (and removes its directory)
   * when its stdin closes first: the server that made it is gone.
   */
  warm?: boolean;
}

/** The second line a warm supervisor reads: where its run's directory now is, and the engine's hand-off line. */
export interface SupervisorHandoff {
  dir: string;
  engineLine: string;
}

/** `warm.json`: a warm engine's processes, once they run. */
export interface WarmRecord {
  supervisorPid: number;
  supervisorStartTime: string | null;
  enginePid: number;
  engineStartTime: string | null;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The record, or null when it does not exist (yet, or any more). */
export async function readJson<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: it was not written by this version of Ferry, or the disk is damaged`, { cause: error });
  }
}

export function runFile(dir: string, file: keyof typeof RUN_FILES): string {
  return join(dir, RUN_FILES[file]);
}

export function toRunnerExit(record: ExitRecord): RunnerExit {
  return { exitCode: record.exitCode, oomKilled: record.oomKilled, startedAt: record.startedAt, finishedAt: record.finishedAt, tail: record.tail };
}

/** A signal's death as a shell (and Docker) reports it: 128 + the signal's number, so SIGKILL is 137. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? constants.signals[signal] : undefined;
  return number === undefined ? 255 : 128 + number;
}
