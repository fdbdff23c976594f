import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The action's package directory (where action.yml and dist/ are). */
export const ACTION_DIR = resolve(import.meta.dirname, "..");

export interface ActionResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The messages of `::error …::` lines. */
  errors: string[];
  failed: boolean;
  /** What the step saved for its post step (core.saveState), as the runner passes it on: STATE_<name>. */
  state: Record<string, string>;
}

export interface ActionCall {
  inputs: Record<string, string>;
  /** GITHUB_* and other variables of the job. */
  env: Record<string, string>;
  /** The post step: the main step's saved state is passed as STATE_* variables. */
  post?: Record<string, string>;
  /** Called with the child process once it started (a test signals it as the runner would on cancel). */
  onStart?: (child: ChildProcess) => void;
}

/** Starts an action the way under test, returns what a runner would see. */
export type ActionDriver = (call: ActionCall) => Promise<ActionResult>;

function files() {
  const dir = mkdtempSync(join(tmpdir(), "ferry-action-step-"));
  const output = join(dir, "output");
  const summary = join(dir, "summary.md");
  const state = join(dir, "state");
  writeFileSync(output, "");
  writeFileSync(summary, "");
  writeFileSync(state, "");
  return { dir, output, summary, state };
}

function exec(command: string, args: string[], env: Record<string, string>, cwd: string, onStart?: (child: ChildProcess) => void): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    // Its own process group: a test signals the whole step (local-action's tsx children too), as a runner stops a step.
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    onStart?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (exitCode) => resolvePromise({ exitCode, stdout, stderr }));
  });
}

/** `name<<DELIMITER\nvalue\nDELIMITER` blocks, as @actions/core writes $GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!;
  return out;
}

function errorLines(stdout: string): string[] {
  return [...stdout.matchAll(/^::error(?: [^:]*)?::(.*)$/gm)].map((m) => m[1]!);
}

const BASE_ENV = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? tmpdir(),
  NO_COLOR: "1",
  FORCE_COLOR: "0",
});

const stateEnv = (state: Record<string, string> | undefined) => Object.fromEntries(Object.entries(state ?? {}).map(([k, v]) => [`STATE_${k}`, v]));

/**
 * `node dist/index.js`, as the runner starts a `node24` action: inputs as INPUT_* variables. With `post`,
 * the same file as the post step, the main step's state as STATE_* variables.
 */
export const distDriver: ActionDriver = async ({ inputs, env, post, onStart }) => {
  const f = files();
  try {
    const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
    const r = await exec(
      process.execPath,
      [join(ACTION_DIR, "dist/index.js")],
      { ...BASE_ENV(), ...env, ...inputEnv, ...stateEnv(post), GITHUB_OUTPUT: f.output, GITHUB_STEP_SUMMARY: f.summary, GITHUB_STATE: f.state },
      env.GITHUB_WORKSPACE ?? ACTION_DIR,
      onStart,
    );
    const errors = errorLines(r.stdout);
    const state = parseOutputFile(readFileSync(f.state, "utf8"));
    return { ...r, outputs: parseOutputFile(readFileSync(f.output, "utf8")), summary: readFileSync(f.summary, "utf8"), errors, failed: r.exitCode !== 0, state };
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
};

/**
 * `local-action . src/run.ts .env`: loads the source's exported run() with its own @actions/core, inputs
 * from a dotenv file (`src/post.ts` for the post step). It exits 0 even after setFailed, so failure is read
 * from the `::error::` line; saved state is read from its `::save-state` lines.
 */
export const localActionDriver: ActionDriver = async ({ inputs, env, post, onStart }) => {
  const f = files();
  try {
    const dotenv = join(f.dir, ".env");
    writeFileSync(dotenv, Object.entries(inputs).map(([k, v]) => `INPUT_${k.toUpperCase()}='${v}'`).join("\n") + "\n");
    const bin = resolve(ACTION_DIR, "../../node_modules/.bin/local-action");
    const entry = post ? "src/post.ts" : "src/run.ts";
    const r = await exec(bin, [".", entry, dotenv], { ...BASE_ENV(), ...env, ...stateEnv(post), GITHUB_STEP_SUMMARY: f.summary }, ACTION_DIR, onStart);
    const outputs: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)) outputs[m[1]!] = m[2]!;
    const state: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/^::save-state name=([^:]+)::(.*)$/gm)) state[m[1]!] = m[2]!;
    const errors = errorLines(r.stdout);
    return { ...r, outputs, summary: readFileSync(f.summary, "utf8"), errors, failed: errors.length > 0, state };
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
};

/**
 * Sends `signal` to the process that runs the action's code, as a runner signals a cancelled step's node
 * process: `node dist/index.js` itself, or under local-action the node process tsx starts (signalling
 * tsx instead would test tsx: it SIGKILLs its child when the child's IPC answer is 30 ms late, as
 * happens on a loaded machine). SIGKILL goes to the whole group.
 */
export function signalStep(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  if (signal === "SIGKILL") return void process.kill(-child.pid, signal);
  const group = execFileSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[2]) === child.pid);
  const inner = group.find((m) => m[3]!.includes("tsx/dist/loader.mjs"));
  process.kill(inner ? Number(inner[1]) : child.pid, signal);
}
