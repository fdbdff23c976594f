import { describe, expect, it } from "vitest";
import { LineTail, lastLines, MAX_LINE_CHARS } from "./line-tail.js";

describe("LineTail", () => {
  it("keeps the last lines, whole, across chunks", () => {
    const tail = new LineTail(3);
    tail.push("out", "one\ntw");
    tail.push("out", "o\nthree\nfour\n");
    expect(tail.snapshot()).toEqual(["two", "three", "four"]);
  });

  it("does not interleave two streams within a line", () => {
    const tail = new LineTail(10);
    tail.push("out", "hello ");
    tail.push("err", "Traceback\n");
    tail.push("out", "world\n");
    expect(tail.snapshot()).toEqual(["Traceback", "hello world"]);
  });

  it("shows an unfinished line last, and cuts a line that never ends", () => {
    const tail = new LineTail(10);
    tail.push("out", "done\nKilled");
    expect(tail.snapshot()).toEqual(["done", "Killed"]);
    tail.push("err", "x".repeat(MAX_LINE_CHARS + 10));
    expect(tail.snapshot().at(-2)).toBe(`${"x".repeat(MAX_LINE_CHARS)}…`);
  });

  it("drops carriage returns at line ends", () => {
    const tail = new LineTail(10);
    tail.push("out", "a\r\nb\r\n");
    expect(tail.snapshot()).toEqual(["a", "b"]);
  });
});

describe("lastLines", () => {
  it("takes the last lines without the empty one after a final newline", () => {
    expect(lastLines("a\nb\nc\n", 2)).toEqual(["b", "c"]);
    expect(lastLines("", 2)).toEqual([]);
  });
});
