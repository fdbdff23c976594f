import { describe, expect, it } from "vitest";
import { Crc32c } from "./crc32c.js";

describe("Crc32c", () => {
  it("gives the standard check value for '123456789' (0xE3069283)", () => {
    expect(new Crc32c().update(Buffer.from("123456789")).digestBase64()).toBe(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString("base64"));
  });

  it("is the same fed in pieces as in one", () => {
    const whole = new Crc32c().update(Buffer.from("hello blob world")).digestBase64();
    const pieces = new Crc32c().update(Buffer.from("hello ")).update(Buffer.from("blob ")).update(Buffer.from("world")).digestBase64();
    expect(pieces).toBe(whole);
    // GCS's crc32c of an empty object.
    expect(new Crc32c().digestBase64()).toBe("AAAAAA==");
  });
});
