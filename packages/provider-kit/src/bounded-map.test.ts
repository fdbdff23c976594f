import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map.js";

describe("BoundedMap", () => {
  it("forgets the oldest entries past its limit; setting a key again makes it the newest", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("a", 3).set("c", 4);
    expect([...map.entries()]).toEqual([
      ["a", 3],
      ["c", 4],
    ]);
  });

  it("makes a value once, and forgets a rejected promise so the next call tries again", async () => {
    const map = new BoundedMap<string, Promise<number>>(10);
    let made = 0;
    const make = () => {
      made++;
      return made === 1 ? Promise.reject(new Error("first fails")) : Promise.resolve(made);
    };
    await expect(map.getOrMake("k", make)).rejects.toThrow("first fails");
    expect(map.has("k")).toBe(false);
    await expect(map.getOrMake("k", make)).resolves.toBe(2);
    await expect(map.getOrMake("k", make)).resolves.toBe(2);
    expect(made).toBe(2);
  });

  it("needs a limit", () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });
});
