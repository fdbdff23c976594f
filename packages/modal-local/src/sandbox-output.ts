/** What a sandbox printed on one stream, kept whole: read by entry (V1 log batches) or by byte offset (V2 stdio). */
export class SandboxOutput {
  private readonly entries: { data: string; timestamp: number }[] = [];
  private readonly chunks: Buffer[] = [];
  /** Where each chunk starts, in bytes of the stream. */
  private readonly starts: number[] = [];
  private bytes = 0;

  append(data: string, timestamp: number): void {
    if (data === "") return;
    this.entries.push({ data, timestamp });
    const chunk = Buffer.from(data, "utf8");
    this.chunks.push(chunk);
    this.starts.push(this.bytes);
    this.bytes += chunk.length;
  }

  get entryCount(): number {
    return this.entries.length;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** Entries from index `from` on. */
  entriesFrom(from: number): { data: string; timestamp: number }[] {
    return this.entries.slice(from);
  }

  /** The bytes from `offset` on (empty when there are none yet). */
  bytesFrom(offset: number): Buffer {
    if (offset >= this.bytes) return Buffer.alloc(0);
    // The last chunk starting at or before `offset`: a reader that keeps up copies only what is new.
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (this.starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return Buffer.concat(this.chunks.slice(low)).subarray(offset - this.starts[low]!);
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
