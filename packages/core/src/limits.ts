import { FerryError } from "./errors.js";


/**
 * The sizes the API accepts, in one place: the server enforces them (each refusal names its limit), and
 * a client may check them before it sends. They keep one request from taking the server's memory or
 * time: past them a request is refused with a 400 or 413, never answered with a 500.
 */
export const LIMITS = {
  /** A request body, except what a run's engine reports (below). */
  bodyBytes: 1024 * 1024,
  /** What a run's engine reports: a batch of log lines (up to 1000), a final state with the flow's return value. */
  runReportBodyBytes: 16 * 1024 * 1024,
  /** How deeply a request's JSON may nest objects and arrays. */
  jsonDepth: 64,
  /** A run's or a deployment's `parameters` and `job_variables`, each, as JSON. */
  parametersBytes: 512 * 1024,
  /** A user-supplied JSON Schema (`parameter_schema`, a job template's `variables`), as JSON. */
  schemaBytes: 128 * 1024,
  /**
   * Objects and arrays in a user-supplied JSON Schema. Compiling costs about a millisecond for each
   * (more under load), on the event loop; Ferry's own job templates have under a hundred.
   */
  schemaNodes: 1000,
  /** How deeply a user-supplied JSON Schema may nest. */
  schemaDepth: 32,
  /** A `pattern` (or `patternProperties` key) in a user-supplied JSON Schema. */
  patternLength: 1000,
  /** The items of one page of a list answer, as JSON: a page holds fewer items than asked rather than more bytes. */
  pageBytes: 4 * 1024 * 1024,
  /** The most items a list call may ask for. */
  pageItems: 1000,
  /** Integers the store keeps in 32-bit columns (`concurrency_limit`). */
  int32Max: 2_147_483_647,
} as const;

/** `n` bytes in the unit a person would write: 512 KiB, 1 MiB. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  // Rounded up, so a size just past a limit never reads as equal to it.
  if (n >= 1024 * 1024) return `${Math.ceil((n / (1024 * 1024)) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.ceil((n / 1024) * 10) / 10} KiB`;
  return `${n} bytes`;
}

/**
 * The nesting depth of a JSON value (a scalar is 0, `{}` and `[]` are 1) and how many objects and arrays
 * it holds, counted without recursion so that a value nested a million deep cannot overflow the stack;
 * stops counting once past `maxDepth` or `maxNodes`.
 */
export function jsonShape(value: unknown, maxDepth = Infinity, maxNodes = Infinity): { depth: number; nodes: number } {
  let depth = 0;
  let nodes = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, parent] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    const d = parent + 1;
    nodes++;
    if (d > depth) depth = d;
    if (depth > maxDepth || nodes > maxNodes) break;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, d]);
    }
  }
  return { depth, nodes };
}

/** The nesting depth of a JSON value (see jsonShape); stops counting past `max`. */
export function jsonDepth(value: unknown, max = Infinity): number {
  return jsonShape(value, max).depth;
}

/** The size of `value` as UTF-8 JSON. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, "utf8");
}


/** Refuses (413, naming the limit) a JSON value larger than `limit` bytes; `what` names the field. */
export function checkJsonSize(value: unknown, limit: number, what: string): void {
  if (value === undefined || value === null) return;
  const size = jsonBytes(value);
  if (size > limit) {
    throw new FerryError(
      "payload_too_large",
      `${what} take ${formatBytes(size)} as JSON; the limit is ${formatBytes(limit)}: pass large data by reference (a URL or a path) instead`,
      { details: { limit_bytes: limit, size_bytes: size } },
    );
  }
}

/** Refuses (400, naming the limit) a JSON value nested deeper than `limit`. */
export function checkJsonDepth(value: unknown, limit: number, what: string): void {
  if (jsonDepth(value, limit) > limit) {
    throw new FerryError("validation_failed", `${what} is nested more than ${limit} levels deep (the limit); flatten it`, {
      details: { limit_depth: limit },
    });
  }
}

/** One page gathered by collectPage: its items, the row of the last one, and whether more rows follow. */
export interface CollectedPage<R, T> {
  items: T[];
  last: R | undefined;
  more: boolean;
}

/**
 * Gathers one page of a list: reads rows in chunks, each after the last row kept, until the page has
 * `limit` items or its items take `maxBytes` as JSON (a page always has at least one item). A page of
 * a thousand runs each carrying large parameters is so cut short, with a cursor to the rest, instead
 * of the whole of it being held in memory at once; a chunk bounds what is read ahead of the budget.
 */
export async function collectPage<R, T>(options: {
  limit: number;
  maxBytes?: number;
  chunk?: number;
  /** Up to `n` rows after `after` (the first rows of the page when undefined), in page order. */
  fetch(after: R | undefined, n: number): Promise<R[]>;
  toItem(row: R): T;
}): Promise<CollectedPage<R, T>> {
  const maxBytes = options.maxBytes ?? LIMITS.pageBytes;
  const chunk = options.chunk ?? 50;
  const items: T[] = [];
  let last: R | undefined;
  let bytes = 0;
  for (;;) {
    const want = Math.min(chunk, options.limit - items.length);
    // One row more than wanted tells whether anything follows.
    const rows = await options.fetch(last, want + 1);
    for (const row of rows.slice(0, want)) {
      const item = options.toItem(row);
      const size = jsonBytes(item);
      if (items.length > 0 && bytes + size > maxBytes) return { items, last, more: true };
      items.push(item);
      bytes += size;
      last = row;
    }
    if (rows.length <= want) return { items, last, more: false };
    if (items.length >= options.limit) return { items, last, more: true };
  }
}
