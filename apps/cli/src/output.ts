import Table from "cli-table3";
import pc from "picocolors";
import { stringify } from "yaml";
import type { Io } from "./io.js";

export type Colors = ReturnType<typeof pc.createColors>;

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
  /** False for a column that must stay whole to be useful (an id to copy): never cut to fit the terminal. */
  shrink?: boolean;
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

  /** On a terminal, long columns are cut (with …) to fit its width; piped output keeps every character. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    const width = this.io.stdout.isTTY ? (this.io.stdout.columns ?? Number(this.io.env.COLUMNS)) : undefined;
    this.io.stdout.write(renderTable(rows, columns, this.colors, width && width > 0 ? width : undefined));
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

const GAP = 2;
/** No column is cut below this many characters (nor below its header). */
const MIN_COLUMN = 8;

/**
 * Column widths that fit `available` characters: the widest column gives up a character at a time, so
 * short columns (ids, states, times) stay whole and long ones (sources, messages) are cut first. When
 * even the minimum widths do not fit, they are returned as they are and the terminal wraps.
 */
export function fitColumns(natural: readonly number[], minimum: readonly number[], available: number, gap = GAP): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + gap * Math.max(0, widths.length - 1);
  while (total() > available) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! > minimum[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]!--;
  }
  return widths;
}

/** A borderless table: easy to read and to grep. With `width`, long cells are cut to fit it. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], colors: Colors, width?: number): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row))));
  let colWidths: number[] | undefined;
  if (width !== undefined) {
    const natural = columns.map((c, i) => Math.max(visibleLength(c.header), ...cells.map((r) => visibleLength(r[i]!))));
    const minimum = columns.map((c, i) => (c.shrink === false ? natural[i]! : Math.min(natural[i]!, Math.max(visibleLength(c.header), MIN_COLUMN))));
    const fitted = fitColumns(natural, minimum, width);
    if (fitted.some((w, i) => w < natural[i]!)) colWidths = fitted;
  }
  const table = new Table({
    ...(colWidths ? { colWidths, truncate: "…" } : {}),
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
  for (const row of cells) table.push(row);
  return `${table.toString().split("\n").map((l) => l.trimEnd()).join("\n")}\n`;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

function visibleLength(text: string): number {
  return [...text.replace(ANSI, "")].length;
}

function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  return String(value);
}

/** An object for a person to read (`inspect`): YAML, which shows nesting without the noise of JSON. */
export function renderDetails(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
