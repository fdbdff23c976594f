import { describe, expect, it } from "vitest";
import { planMaintenance } from "./maintenance.js";

const table = (name: string, tuples: number, modified: number, dead: number) => ({ table: name, tuples, modifiedSinceAnalyze: modified, deadTuples: dead });

describe("planMaintenance", () => {
  it("analyses a table that never had statistics, even an empty one", () => {
    expect(planMaintenance([table("flow_runs", -1, 0, 0)])).toEqual({ analyze: ["flow_runs"], vacuum: [] });
  });

  it("analyses past autovacuum's threshold of 50 rows and 10 %, and not before", () => {
    expect(planMaintenance([table("a", 10_000, 1050, 0), table("b", 10_000, 1051, 0)])).toEqual({ analyze: ["b"], vacuum: [] });
  });

  it("vacuums (with ANALYZE) past 50 dead rows and 20 %, and then does not analyse the table again", () => {
    expect(planMaintenance([table("a", 1000, 5000, 250), table("b", 1000, 5000, 251)])).toEqual({ analyze: ["a"], vacuum: ["b"] });
  });

  it("when a store opens, analyses only the tables that never had statistics", () => {
    expect(planMaintenance([table("a", -1, 0, 0), table("b", 1000, 5000, 900)], { missingOnly: true })).toEqual({ analyze: ["a"], vacuum: [] });
  });

  it("leaves tables that changed little alone", () => {
    expect(planMaintenance([table("a", 100_000, 20, 40), table("b", 0, 0, 0)])).toEqual({ analyze: [], vacuum: [] });
  });
});
