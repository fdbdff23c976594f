import { describe, expect, it } from "vitest";
import { packageOf, summarise } from "./profile-summary.js";

describe("packageOf", () => {
  it("names the package, Ferry's own code, Node or the engine", () => {
    expect(packageOf("file:///w/node_modules/@electric-sql/pglite/dist/x.js")).toBe("@electric-sql/pglite");
    expect(packageOf("file:///w/node_modules/pg/lib/client.js")).toBe("pg");
    expect(packageOf("file:///w/packages/server/dist/dispatcher.js")).toBe("@ferry/server");
    expect(packageOf("node:net")).toBe("node internals");
    expect(packageOf("")).toBe("(engine: gc, idle, native)");
  });
});

describe("summarise", () => {
  it("adds self time up the tree once per function, even through recursion", () => {
    const frame = (functionName: string, url = "file:///w/packages/server/dist/a.js") => ({ functionName, url, lineNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)", ""), children: [2] },
        { id: 2, callFrame: frame("loop"), children: [3] },
        { id: 3, callFrame: frame("loop"), children: [4] },
        { id: 4, callFrame: frame("query", "file:///w/node_modules/pg/lib/client.js") },
      ],
      samples: [2, 3, 4, 4],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    const s = summarise(profile);
    expect(s.totalMs).toBe(4);
    expect(Object.fromEntries(s.byPackage)).toEqual({ "@ferry/server": 2, pg: 2, "(engine: gc, idle, native)": 0 });
    expect(s.byTotal.find(([k]) => k.startsWith("loop"))![1]).toBe(4);
  });
});
