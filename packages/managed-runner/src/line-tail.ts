/** How many lines a RunnerExit's `tail` keeps, in both backends. */
export const TAIL_LINES = 50;

/** A line longer than this is cut: a tail explains a crash, it does not carry a program's data. */
export const MAX_LINE_CHARS = 4096;

/**
 * The last lines of output that arrives in chunks, from one or more streams. Each stream's unfinished
 * line waits for its newline, so stdout and stderr never interleave within a line.
 */
export class LineTail {
  private readonly lines: string[] = [];
  private readonly partial = new Map<string, string>();

  constructor(private readonly capacity: number = TAIL_LINES) {}

  push(stream: string, chunk: string): void {
    const parts = ((this.partial.get(stream) ?? "") + chunk).split("\n");
    let rest = parts.pop() ?? "";
    for (const line of parts) this.add(line);
    // A program that never prints a newline must not grow this without bound.
    if (rest.length > MAX_LINE_CHARS) {
      this.add(rest);
      rest = "";
    }
    this.partial.set(stream, rest);
  }

  /** The kept lines, each stream's unfinished line last. */
  snapshot(): string[] {
    const unfinished = [...this.partial.values()].filter((l) => l.length > 0).map(cut);
    return [...this.lines, ...unfinished].slice(-this.capacity);
  }

  private add(line: string): void {
    this.lines.push(cut(line));
    if (this.lines.length > this.capacity) this.lines.shift();
  }
}

/** The last `count` lines of a text, without the empty line after a final newline. */
export function lastLines(text: string, count: number = TAIL_LINES): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-count).map(cut);
}

function cut(line: string): string {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  return text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text;
}
