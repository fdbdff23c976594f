import { spawn } from "node:child_process";
import { LineSplitter, type LineMasker } from "./log-lines.js";

export type StreamName = "stdout" | "stderr";

export interface ProcessOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Every line the process prints, as it prints it. */
  onLine?: (line: string, stream: StreamName) => void;
  /** Aborting sends SIGTERM to the process, then SIGKILL after `stopGraceMs`. */
  signal?: AbortSignal;
  stopGraceMs?: number;
  /** How many of the last lines to keep for error messages. */
  tailLines?: number;
  /** Masks secrets in each line (and the tail) before a long line is cut into pieces. */
  masker?: LineMasker | null;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last non-empty lines, both streams interleaved as they came. */
  tail: string[];
  /** Stopped because the signal aborted. */
  aborted: boolean;
}

/**
 * Runs a process to its end, streaming its output line by line. Rejects only when it cannot be started
 * at all (command not found, missing working directory).
 *
 * The process stays in the engine's process group: a runner backend that stops the engine by killing
 * its group (or its container) stops the flow and whatever the flow started with it, even when the
 * engine itself is killed before it can pass the signal on.
 */
export function runProcess(options: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, tail: [], aborted: true });
      return;
    }
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const keep = options.tailLines ?? 20;
    const emit = (line: string, stream: StreamName) => {
      if (line.trim()) {
        tail.push(line);
        if (tail.length > keep) tail.shift();
      }
      options.onLine?.(line, stream);
    };
    for (const stream of ["stdout", "stderr"] as const) {
      const splitter = new LineSplitter(options.masker ?? null);
      const source = child[stream];
      source.on("data", (chunk: Buffer) => {
        for (const line of splitter.push(chunk)) emit(line, stream);
      });
      source.on("end", () => {
        for (const line of splitter.end()) emit(line, stream);
      });
    }
    let aborted = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      aborted = true;
      signalProcess(child.pid, "SIGTERM");
      killTimer = setTimeout(() => signalProcess(child.pid, "SIGKILL"), options.stopGraceMs ?? 7_000);
      killTimer.unref();
    };
    options.signal?.addEventListener("abort", stop, { once: true });
    child.once("error", (error) => {
      options.signal?.removeEventListener("abort", stop);
      if (killTimer) clearTimeout(killTimer);
      reject(error);
    });
    let settled = false;
    let exitTimer: ReturnType<typeof setTimeout> | undefined;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", stop);
      if (killTimer) clearTimeout(killTimer);
      if (exitTimer) clearTimeout(exitTimer);
      resolve({ exitCode, signal, tail, aborted });
    };
    child.once("close", finish);
    child.once("exit", (exitCode, signal) => {
      // A background process the child left behind may hold its output open: stop waiting for it.
      exitTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(exitCode, signal);
      }, 2000);
    });
  });
}

function signalProcess(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // It has exited already: nothing left to stop.
  }
}

/** "exited with code 1", "was killed by SIGKILL": how a process's end reads in a message. */
export function describeExit(result: Pick<ProcessResult, "exitCode" | "signal">): string {
  if (result.signal) return `was killed by ${result.signal}`;
  return `exited with code ${result.exitCode ?? "unknown"}`;
}
