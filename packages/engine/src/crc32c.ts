/**
 * CRC-32C (Castagnoli), the checksum Google Cloud Storage reports for every object (`crc32c`, base64 of
 * the big-endian value). Node's zlib has only CRC-32, so a table-driven one here, updated as bytes stream in.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export class Crc32c {
  private crc = 0xffffffff;

  update(bytes: Uint8Array): this {
    let crc = this.crc;
    for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
    this.crc = crc;
    return this;
  }

  /** Base64 of the 4 big-endian bytes, as the store reports it. */
  digestBase64(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.crc ^ 0xffffffff) >>> 0);
    return out.toString("base64");
  }
}
