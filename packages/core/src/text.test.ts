import { describe, expect, it } from "vitest";
import { REPLACEMENT_CHARACTER as R, storableText } from "./text.js";

describe("storableText", () => {
  it("replaces NUL characters and leaves other control characters alone", () => {
    expect(storableText("a\u0000b\u0000")).toBe(`a${R}b${R}`);
    expect(storableText("tab\tbell\u0007esc\u001b[0m")).toBe("tab\tbell\u0007esc\u001b[0m");
  });

  it("replaces lone surrogates and keeps surrogate pairs (emoji) whole", () => {
    expect(storableText("x\uD800y")).toBe(`x${R}y`);
    expect(storableText("x\uDC00y")).toBe(`x${R}y`);
    expect(storableText("end\uD83D")).toBe(`end${R}`);
    expect(storableText("ship \uD83D\uDEA2 ok")).toBe("ship 🚢 ok");
  });

  it("returns ordinary text as it is", () => {
    const text = "héllo wörld, 日本語";
    expect(storableText(text)).toBe(text);
  });
});
