import { Writable } from "node:stream";

/**
 * Takes a server's JSON log lines instead of stdout, which belongs to the report. The server logs at
 * `warn`, so every line is a warning or worse: counted, and the first few kept.
 */
export class LogCollector extends Writable {
  warnings = 0;
  readonly samples: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      this.warnings++;
      if (this.samples.length < 5) this.samples.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    }
    callback();
  }
}
