import { spawn } from "node:child_process";
import { distribution, type Distribution } from "./stats.js";

export interface CliTiming {
  command: string;
  /** Wall time of each invocation, process spawn to exit, in ms. */
  wall: Distribution;
}

export type CliOutcome = CliTiming | { command: string; failed: string };

export interface CliTarget {
  cliPath: string;
  /** The environment of every invocation: where the server is and which key to use. */
  env: Record<string, string>;
  iterations: number;
}

/**
 * Times `node <cli> ...args` as a user meets it: a fresh process each time, so module loading and
 * start-up count. One untimed invocation first warms the file cache; a failing invocation ends the
 * measurement with its stderr rather than timing an error path.
 */
export async function timeCliCommand(target: CliTarget, args: readonly string[]): Promise<CliOutcome> {
  const command = ["ferry", ...args].join(" ");
  const wall: number[] = [];
  for (let i = 0; i <= target.iterations; i++) {
    const run = await invoke(target, args);
    if (run.code !== 0) {
      const why = run.stderr.trim().split("\n").slice(0, 3).join(" | ") || `exit code ${run.code}`;
      return { command, failed: `exit code ${run.code}: ${why}` };
    }
    if (i > 0) wall.push(run.ms);
  }
  return { command, wall: distribution(wall) };
}

function invoke(target: CliTarget, args: readonly string[]): Promise<{ code: number | null; ms: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [target.cliPath, ...args], { env: target.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 4000) stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, ms: performance.now() - started, stderr }));
  });
}
