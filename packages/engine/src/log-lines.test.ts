import { describe, expect, it } from "vitest";
import { LineSplitter, MAX_LINE_LENGTH, StderrClassifier } from "./log-lines.js";
import { SecretMasker } from "./masking.js";

describe("LineSplitter", () => {
  it("joins lines split across chunks and drops the line endings", () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from("hel"))).toEqual([]);
    expect(s.push(Buffer.from("lo\r\nwor"))).toEqual(["hello"]);
    expect(s.push(Buffer.from("ld\n\nlast"))).toEqual(["world", ""]);
    expect(s.end()).toEqual(["last"]);
  });

  it("does not break a multi-byte character split between chunks", () => {
    const bytes = Buffer.from("héllo wörld\n");
    const s = new LineSplitter();
    const out = [...s.push(bytes.subarray(0, 2)), ...s.push(bytes.subarray(2))];
    expect(out).toEqual(["héllo wörld"]);
  });

  it("cuts a line that never ends into pieces of the maximum length", () => {
    const s = new LineSplitter();
    const out = s.push("x".repeat(MAX_LINE_LENGTH * 2 + 5));
    expect(out).toEqual(["x".repeat(MAX_LINE_LENGTH), "x".repeat(MAX_LINE_LENGTH)]);
    expect(s.end()).toEqual(["xxxxx"]);
  });
});

describe("LineSplitter with a masker", () => {
  const secret = "ghp_S3cretTokenThatStraddles42";
  const masker = new SecretMasker([secret]);
  /** Everything the splitter makes of `text` fed in chunks of `size` characters. */
  const split = (text: string, size: number) => {
    const s = new LineSplitter(masker);
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(...s.push(Buffer.from(text.slice(i, i + size))));
    return [...out, ...s.end()];
  };

  it("turns bytes that are not UTF-8 into U+FFFD and keeps the rest of the line", () => {
    const s = new LineSplitter(masker);
    expect(s.push(Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a]))).toEqual(["a\uFFFD\uFFFDb"]);
  });

  it("masks a secret across the cut of a line longer than the maximum, wherever it falls and however the output comes", () => {
    for (const ended of [true, false]) {
      for (let at = MAX_LINE_LENGTH - secret.length - 1; at <= MAX_LINE_LENGTH + 1; at++) {
        const text = `${"a".repeat(at)}${secret}${"b".repeat(MAX_LINE_LENGTH + 500 - at)}${ended ? "\n" : ""}`;
        for (const size of [1_000_000, 4096, 997]) {
          const pieces = split(text, size);
          const joined = pieces.join("");
          expect(joined, `secret at ${at}, chunks of ${size}`).toBe(masker.mask(text.replace("\n", "")));
          expect(pieces.every((p) => p.length <= MAX_LINE_LENGTH)).toBe(true);
        }
      }
    }
  });

  it("does not show half of a secret that a shorter one begins", () => {
    const both = new SecretMasker(["abcd", "abcdefghij"]);
    const s = new LineSplitter(both);
    const text = `${"x".repeat(MAX_LINE_LENGTH - 6)}abcdefghij${"y".repeat(20)}`;
    const out = [...s.push(text.slice(0, MAX_LINE_LENGTH + 2)), ...s.push(text.slice(MAX_LINE_LENGTH + 2)), ...s.end()].join("");
    expect(out).toBe(`${"x".repeat(MAX_LINE_LENGTH - 6)}***${"y".repeat(20)}`);
  });

  it("still bounds a line that never ends", () => {
    const s = new LineSplitter(masker);
    const out = s.push("z".repeat(MAX_LINE_LENGTH * 3));
    expect(out.length).toBeGreaterThanOrEqual(2);
    expect(out.every((p) => p.length <= MAX_LINE_LENGTH)).toBe(true);
    expect(out.join("").length + s.end().join("").length).toBe(MAX_LINE_LENGTH * 3);
  });
});

describe("StderrClassifier", () => {
  const classify = (lines: string[]) => {
    const c = new StderrClassifier();
    return lines.map((l) => c.classify(l));
  };

  it("takes the level from the Python logging prefix", () => {
    expect(classify(["DEBUG x: a", "INFO x: b", "WARNING x: c", "ERROR x: d", "CRITICAL x: e", "plain output"])).toEqual([
      "debug", "info", "warning", "error", "critical", "info",
    ]);
  });

  it("logs a whole traceback at level error, and what follows it at info", () => {
    expect(
      classify([
        "Traceback (most recent call last):",
        '  File "flows/boom.py", line 8, in boom',
        "    check(day)",
        "    ^^^^^^^^^^",
        "ValueError: bad day",
        "a normal line afterwards",
      ]),
    ).toEqual(["error", "error", "error", "error", "error", "info"]);
  });

  it("keeps chained tracebacks together", () => {
    expect(
      classify([
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "KeyError: 'x'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        "  File \"a.py\", line 3, in f",
        "ValueError: y",
      ]),
    ).toEqual(["error", "error", "error", "error", "error", "error", "error", "error", "error"]);
  });

  it("gives a record's indented continuation lines the record's level", () => {
    expect(classify(["ERROR TypeError: no such thing", "    at explode (ts/flow.ts:10:9)", "    at main (x.js:1:1)", "next"])).toEqual([
      "error", "error", "error", "info",
    ]);
  });

  it("does not mistake a word starting like a level for a prefix", () => {
    expect(classify(["INFORMATION about things", "ERRORS: none", "WARNINGS"])).toEqual(["info", "info", "info"]);
  });
});
