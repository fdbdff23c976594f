import Table from "cli-table3";
import pc from "picocolors";
import { stringify } from "yaml";
import type { Io } from "./io.js";

export type Colors = ReturnType<typeof pc.createColors>;

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
}

/**
 * What commands print. Results go to stdout; notes, warnings and progress to stderr, so `--json`
 * output and pipes stay clean. Colour only on a terminal, and never with NO_COLOR.
 */
export class Output {
  readonly colors: Colors;
  readonly color: boolean;

  constructor(private readonly io: Io) {
    this.color = useColor(io.env, io.stdout.isTTY);
    this.colors = pc.createColors(this.color);
  }

  line(text = ""): void {
    this.io.stdout.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.io.stdout.write(renderJson(value));
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    this.io.stdout.write(renderTable(rows, columns, this.colors));
  }

  details(value: unknown): void {
    this.io.stdout.write(renderDetails(value));
  }

  /** A note for the person at the terminal: on stderr, so it never mixes with results. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    const c = pc.createColors(useColor(this.io.env, this.io.stderr.isTTY));
    this.io.stderr.write(`${c.yellow("Warning:")} ${text}\n`);
  }

  success(text: string): void {
    this.line(`${this.colors.green("✓")} ${text}`);
  }
}

export function useColor(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return isTTY && env.TERM !== "dumb";
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A borderless table: easy to read and to grep. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], colors: Colors): string {
  const table = new Table({
    head: columns.map((c) => colors.bold(c.header)),
    chars: {
      top: "", "top-mid": "", "top-left": "", "top-right": "",
      bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
      left: "", "left-mid": "", mid: "", "mid-mid": "",
      right: "", "right-mid": "", middle: "  ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
    wordWrap: false,
  });
  for (const row of rows) table.push(columns.map((c) => cell(c.value(row))));
  return `${table.toString().split("\n").map((l) => l.trimEnd()).join("\n")}\n`;
}

function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  return String(value);
}

/** An object for a person to read (`inspect`): YAML, which shows nesting without the noise of JSON. */
export function renderDetails(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
