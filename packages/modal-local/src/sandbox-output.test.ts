import { describe, expect, it } from "vitest";
import { SandboxOutput } from "./sandbox-output.js";

describe("SandboxOutput", () => {
  it("reads by entry and by byte offset, from any offset, multi-byte characters included", () => {
    const out = new SandboxOutput();
    out.append("one\n", 1);
    out.append("", 2);
    out.append("dé\n", 3);
    out.append("three\n", 4);
    expect(out.entryCount).toBe(3);
    expect(out.entriesFrom(1).map((e) => e.data)).toEqual(["dé\n", "three\n"]);
    const all = Buffer.from("one\ndé\nthree\n");
    expect(out.byteLength).toBe(all.length);
    for (let offset = 0; offset <= all.length + 1; offset++) expect(out.bytesFrom(offset).equals(all.subarray(offset))).toBe(true);
    expect(out.text()).toBe("one\ndé\nthree\n");
  });
});
