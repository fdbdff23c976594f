import { describe, expect, it } from "vitest";
import { LineSplitter, MAX_LINE_LENGTH, StderrClassifier } from "./log-lines.js";

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
