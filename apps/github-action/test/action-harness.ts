import { spawn } from "node:child_process";
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
}

export interface ActionCall {
  inputs: Record<string, string>;
  /** GITHUB_* and other variables of the job. */
  env: Record<string, string>;
}

/** Starts an action the way under test, returns what a runner would see. */
export type ActionDriver = (call: ActionCall) => Promise<ActionResult>;

function files() {
  const dir = mkdtempSync(join(tmpdir(), "ferry-action-step-"));
  const output = join(dir, "output");
  const summary = join(dir, "summary.md");
  writeFileSync(output, "");
  writeFileSync(summary, "");
  return { dir, output, summary };
}

function exec(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
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

/** `node dist/index.js`, as the runner starts a `node24` action: inputs as INPUT_* variables. */
export const distDriver: ActionDriver = async ({ inputs, env }) => {
  const f = files();
  try {
    const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
    const r = await exec(process.execPath, [join(ACTION_DIR, "dist/index.js")], { ...BASE_ENV(), ...env, ...inputEnv, GITHUB_OUTPUT: f.output, GITHUB_STEP_SUMMARY: f.summary }, env.GITHUB_WORKSPACE ?? ACTION_DIR);
    const errors = errorLines(r.stdout);
    return { ...r, outputs: parseOutputFile(readFileSync(f.output, "utf8")), summary: readFileSync(f.summary, "utf8"), errors, failed: r.exitCode !== 0 };
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
};

/**
 * `local-action . src/run.ts .env`: loads the source's exported run() with its own @actions/core, inputs
 * from a dotenv file. It exits 0 even after setFailed, so failure is read from the `::error::` line.
 */
export const localActionDriver: ActionDriver = async ({ inputs, env }) => {
  const f = files();
  try {
    const dotenv = join(f.dir, ".env");
    writeFileSync(dotenv, Object.entries(inputs).map(([k, v]) => `INPUT_${k.toUpperCase()}='${v}'`).join("\n") + "\n");
    const bin = resolve(ACTION_DIR, "../../node_modules/.bin/local-action");
    const r = await exec(bin, [".", "src/run.ts", dotenv], { ...BASE_ENV(), ...env, GITHUB_STEP_SUMMARY: f.summary }, ACTION_DIR);
    const outputs: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)) outputs[m[1]!] = m[2]!;
    const errors = errorLines(r.stdout);
    return { ...r, outputs, summary: readFileSync(f.summary, "utf8"), errors, failed: errors.length > 0 };
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
};
