/** What a sandbox printed on one stream, kept whole: read by entry (V1 log batches) or by byte offset (V2 stdio). */
export class SandboxOutput {
  private readonly entries: { data: string; timestamp: number }[] = [];
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  append(data: string, timestamp: number): void {
    if (data === "") return;
    this.entries.push({ data, timestamp });
    const chunk = Buffer.from(data, "utf8");
    this.chunks.push(chunk);
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
    return Buffer.concat(this.chunks).subarray(offset);
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
