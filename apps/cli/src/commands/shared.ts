import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { FerryError } from "@ferry/core";
import { parse as parseYaml } from "yaml";
import { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import type { Io } from "../io.js";
import type { GlobalOptions } from "@ferry/client-node";

export interface RunState {
  exitCode: number;
  /** The context of the command that ran, for hints after an error. */
  context?: CommandContext;
  /** The arguments of this run: a command whose flags depend on them (provisioning) looks before parsing. */
  argv?: readonly string[];
  /** Said after an unknown option of the command being parsed, when that command knows why it may be unknown. */
  usageHint?: string;
}

export interface CommandEnv {
  io: Io;
  state: RunState;
}

export type Registrar = (program: Command, env: CommandEnv) => void;

/**
 * Wraps a command body: builds its context from the global options, and records the exit code it
 * returns (a body that returns nothing succeeded). Errors propagate to `run`, which reports them once.
 */
export function handler<A extends unknown[]>(env: CommandEnv, body: (ctx: CommandContext, ...args: A) => Promise<number | void>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const ctx = new CommandContext(env.io, command.optsWithGlobals<GlobalOptions>());
    env.state.context = ctx;
    const code = await body(ctx, ...(params.slice(0, -1) as A));
    if (typeof code === "number") env.state.exitCode = code;
  };
}

export const JSON_HELP = "print the API's JSON objects and nothing else";
/** The `--limit` of an `ls` command: every page by default, as one list. */
export const LIMIT_HELP = "show at most N (default: all of them)";

export function parseInteger(min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`'${value}' is not a whole number${min > 0 ? ` of at least ${min}` : min === 0 ? " (0 or more)" : ""}.`);
    }
    return n;
  };
}

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative number.`);
  return n;
}

/** Reads a JSON or YAML document from a file, or from stdin for `-`. */
export async function readDocument(io: Io, path: string, what: string): Promise<unknown> {
  let text: string;
  if (path === "-") text = await io.readStdin();
  else {
    try {
      text = await readFile(resolve(io.cwd, path), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new FerryError(code === "ENOENT" ? "not_found" : "validation_failed", `cannot read ${what} from ${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, {
        cause: error,
      });
    }
  }
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new FerryError("validation_failed", `${what} in ${path === "-" ? "stdin" : path} is neither JSON nor YAML: ${(error as Error).message.split("\n")[0]}`);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const YES_HELP = "do not ask for confirmation (needed when stdin is not a terminal)";

/**
 * The one confirmation rule for everything destructive: `--yes` skips the question; on a terminal the
 * person is asked (default no); without one (a script, CI) the command is refused as a usage error
 * naming --yes, rather than deleting what nobody confirmed. `what` completes "refusing to …".
 */
export async function confirmOrYes(ctx: CommandContext, yes: boolean | undefined, question: string, what = "delete"): Promise<boolean> {
  if (yes) return true;
  if (!ctx.io.stdinIsTTY) {
    throw new FerryError("validation_failed", `refusing to ${what} without confirmation: stdin is not a terminal; pass --yes to confirm`);
  }
  return ctx.io.confirm(question);
}

/**
 * Runs `remove` once `--yes` or the person confirmed `question`; otherwise says nothing was deleted and
 * exits 1. Every delete command goes through here.
 */
export async function confirmedDelete(ctx: CommandContext, options: { yes?: boolean }, question: string, remove: () => Promise<void>): Promise<number | void> {
  if (!(await confirmOrYes(ctx, options.yes, question))) {
    ctx.out.note("Nothing deleted.");
    return ExitCode.failure;
  }
  await remove();
}
