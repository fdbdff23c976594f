/**
 * The text of a container's logs as the API returns them. Without a TTY Docker multiplexes stdout and
 * stderr into frames: one byte for the stream (1 stdout, 2 stderr), three zero bytes, a big-endian
 * 32-bit length, then that many bytes. A response that does not start like a frame is returned as is
 * (a TTY container's raw output).
 */
export function demuxDockerLogs(buffer: Buffer): string {
  if (!looksMultiplexed(buffer)) return buffer.toString("utf8");
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    payloads.push(buffer.subarray(offset + 8, Math.min(offset + 8 + size, buffer.length)));
    offset += 8 + size;
  }
  return Buffer.concat(payloads).toString("utf8");
}

function looksMultiplexed(buffer: Buffer): boolean {
  if (buffer.length < 8) return false;
  const stream = buffer[0]!;
  return stream <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
}
