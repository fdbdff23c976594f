import { describe, expect, it } from "vitest";
import { runIdempotencyKey, type RunRequestIdentity } from "./idempotency-key.js";

const base: RunRequestIdentity = { runId: 1234, attempt: null, job: "etl", matrix: {}, deployment: "etl/nightly", parameters: { day: "2026-01-01" }, jobVariables: {} };

describe("runIdempotencyKey", () => {
  it("is stable for the same request, whatever the order of keys", () => {
    const a = runIdempotencyKey({ ...base, parameters: { a: 1, b: { x: 1, y: 2 } } });
    const b = runIdempotencyKey({ ...base, parameters: { b: { y: 2, x: 1 }, a: 1 } });
    expect(a).toBe(b);
    expect(a).toMatch(/^gh-1234-etl-[0-9a-f]{32}$/);
  });

  it("differs by job, matrix values, deployment, parameters and job variables", () => {
    const keys = [
      base,
      { ...base, job: "other" },
      { ...base, matrix: { shard: 1 } },
      { ...base, matrix: { shard: 2 } },
      { ...base, deployment: "etl/hourly" },
      { ...base, parameters: { day: "2026-01-02" } },
      { ...base, jobVariables: { cpu: 2 } },
      { ...base, runId: 1235 },
    ].map(runIdempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("includes the attempt only when asked, and never a parameter's value", () => {
    expect(runIdempotencyKey({ ...base, attempt: 2 })).toMatch(/^gh-1234-a2-etl-/);
    expect(runIdempotencyKey({ ...base, attempt: 2 })).not.toBe(runIdempotencyKey({ ...base, attempt: 3 }));
    expect(runIdempotencyKey({ ...base, parameters: { token: "s3cret" } })).not.toContain("s3cret");
    expect(runIdempotencyKey({ ...base, job: "x".repeat(500) }).length).toBeLessThanOrEqual(200);
  });
});
