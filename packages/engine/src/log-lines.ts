import { StringDecoder } from "node:string_decoder";
import type { LogLevel } from "@ferry/core";

/** Longer lines are cut into pieces of this many characters (the API takes 100 000 a line). */
export const MAX_LINE_LENGTH = 10_000;

/** Hides secrets in output; the engine's `SecretMasker`. */
export interface LineMasker {
  mask(text: string): string;
  /** Where a line still arriving can be cut, at most `max` characters in, without cutting through a secret. */
  cutPoint(text: string, max: number): number;
}

/**
 * Turns a byte stream into lines, whatever the chunk boundaries (mid-line, mid-character). Bytes that
 * are not UTF-8 become U+FFFD. With a masker, secrets are masked in each whole line before a long one
 * is cut into pieces, so a secret across a piece boundary is masked too.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";

  constructor(private readonly masker: LineMasker | null = null) {}

  push(chunk: Buffer | string): string[] {
    this.pending += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const parts = this.pending.split("\n");
    this.pending = parts.pop() ?? "";
    const lines = parts.flatMap((l) => this.finish(l.endsWith("\r") ? l.slice(0, -1) : l));
    // A process that never prints a newline must not grow this buffer without bound. The cut leaves
    // whole any secret the text holds or may be starting (so the buffer may exceed the maximum by up
    // to about twice the longest secret).
    while (this.pending.length > MAX_LINE_LENGTH) {
      const cut = this.masker ? this.masker.cutPoint(this.pending, MAX_LINE_LENGTH) : MAX_LINE_LENGTH;
      if (cut === 0) break;
      lines.push(...this.finish(this.pending.slice(0, cut)));
      this.pending = this.pending.slice(cut);
    }
    return lines;
  }

  /** The last line, when the stream ended without a newline. */
  end(): string[] {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    return rest ? this.finish(rest.endsWith("\r") ? rest.slice(0, -1) : rest) : [];
  }

  private finish(line: string): string[] {
    return cutLong(this.masker ? this.masker.mask(line) : line);
  }
}

function cutLong(line: string): string[] {
  if (line.length <= MAX_LINE_LENGTH) return [line];
  const out: string[] = [];
  for (let i = 0; i < line.length; i += MAX_LINE_LENGTH) out.push(line.slice(i, i + MAX_LINE_LENGTH));
  return out;
}

const LEVEL_PREFIX = /^(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b[\s:]/;
const PREFIX_LEVELS: Record<string, LogLevel> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warning",
  WARN: "warning",
  ERROR: "error",
  CRITICAL: "critical",
  FATAL: "critical",
};
const TRACEBACK_START = "Traceback (most recent call last):";
const CHAINED_TRACEBACK = /^(During handling of the above exception|The above exception was the direct cause)/;

/**
 * Levels for a flow's stderr. The shim's logging format starts each record with its level name
 * (`WARNING etl: …`); a Python traceback and the indented lines that continue a record keep the level
 * of the line that started them. Anything else is info: many tools write progress to stderr.
 */
export class StderrClassifier {
  private sticky: LogLevel | null = null;
  private inTraceback = false;

  classify(line: string): LogLevel {
    const prefix = LEVEL_PREFIX.exec(line);
    if (prefix) {
      this.inTraceback = false;
      this.sticky = PREFIX_LEVELS[prefix[1]!]!;
      return this.sticky;
    }
    if (line === TRACEBACK_START || line.startsWith(TRACEBACK_START)) {
      this.inTraceback = true;
      this.sticky = "error";
      return "error";
    }
    if (line.trim() === "") return this.sticky ?? "info";
    if (/^\s/.test(line)) return this.sticky ?? "info";
    if (this.inTraceback) {
      // The exception's own line ends the traceback; it keeps the traceback's level.
      this.inTraceback = false;
      return "error";
    }
    if (this.sticky === "error" && CHAINED_TRACEBACK.test(line)) return "error";
    this.sticky = null;
    return "info";
  }
}
