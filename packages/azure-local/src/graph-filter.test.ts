import { describe, expect, it } from "vitest";
import { graphFilter } from "./graph-filter.js";

const app = { displayName: "ferry-aci-push-pool-p1", appId: "A-1", tags: ["ferry-pool:p1", "ferry"] };

describe("graphFilter", () => {
  it("matches eq (case-insensitively), startswith, tags/any and their conjunction", () => {
    expect(graphFilter("displayName eq 'FERRY-aci-push-pool-p1'")(app)).toBe(true);
    expect(graphFilter("appId eq 'A-2'")(app)).toBe(false);
    expect(graphFilter("startswith(displayName,'ferry-aci')")(app)).toBe(true);
    expect(graphFilter("tags/any(t:t eq 'ferry-pool:p1')")(app)).toBe(true);
    expect(graphFilter("tags/any(t:t eq 'ferry-pool:p2')")(app)).toBe(false);
    expect(graphFilter("tags/any(t:t eq 'ferry') and appId eq 'A-1'")(app)).toBe(true);
    expect(graphFilter(null)(app)).toBe(true);
  });

  it("reads doubled quotes as one", () => {
    expect(graphFilter("displayName eq 'it''s'")({ displayName: "it's" })).toBe(true);
  });

  it("refuses what it does not serve, naming what it does", () => {
    expect(() => graphFilter("createdDateTime ge 2024-01-01")).toThrow(/Unsupported query.*startswith/);
  });
});
