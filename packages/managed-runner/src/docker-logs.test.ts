import { describe, expect, it } from "vitest";
import { demuxDockerLogs } from "./docker-logs.js";

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("demuxDockerLogs", () => {
  it("joins the frames of both streams in order", () => {
    const logs = Buffer.concat([frame(1, "installing\n"), frame(2, "Traceback (most recent call last):\n"), frame(1, "naïve ✓\n")]);
    expect(demuxDockerLogs(logs)).toBe("installing\nTraceback (most recent call last):\nnaïve ✓\n");
  });

  it("returns a TTY's raw output as it is", () => {
    expect(demuxDockerLogs(Buffer.from("plain output\n"))).toBe("plain output\n");
  });

  it("keeps what there is of a truncated last frame", () => {
    const logs = frame(1, "complete line\n");
    expect(demuxDockerLogs(logs.subarray(0, logs.length - 6))).toBe("complete");
    expect(demuxDockerLogs(Buffer.alloc(0))).toBe("");
  });
});
