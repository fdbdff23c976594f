import { describe, expect, it } from "vitest";
import { differingKeys, idempotencyConflict, type IdempotencyConflictDetails } from "./idempotency.js";

const stored = { id: "run-1", deployment_id: "dep-1", parameters: { day: "2026-11-01", limit: 10, opts: { a: 1, b: 2 } }, job_variables: { cpu: 1 } };

describe("idempotencyConflict", () => {
  it("lets the same request (keys in any order) have the stored run", () => {
    expect(idempotencyConflict("k", stored, { deployment_id: "dep-1", parameters: { opts: { b: 2, a: 1 }, limit: 10, day: "2026-11-01" }, job_variables: { cpu: 1 } })).toBeNull();
  });

  it("answers 409 naming the differing parameters, with both sides' names and no values", () => {
    const error = idempotencyConflict("k", stored, { deployment_id: "dep-1", parameters: { day: "s3cret-2026-11-02", limit: 10 }, job_variables: { cpu: 1 } });
    expect(error?.code).toBe("conflict");
    expect(error?.status).toBe(409);
    const details = error!.details as IdempotencyConflictDetails;
    expect(details).toEqual({
      idempotency_key: "k",
      flow_run_id: "run-1",
      stored: { deployment_id: "dep-1", parameters: ["day", "limit", "opts"], job_variables: ["cpu"] },
      requested: { deployment_id: "dep-1", parameters: ["day", "limit"], job_variables: ["cpu"] },
      differing: { parameters: ["day", "opts"], job_variables: [] },
    });
    expect(error!.message).toMatch(/idempotency key 'k' was used in the last 24 hours for run run-1 with other parameters \(day, opts\)/);
    expect(error!.message).toMatch(/Use a new idempotency key/);
    expect(JSON.stringify(error!.toJSON())).not.toMatch(/s3cret|2026-11-0/);
  });

  it("answers 409 for different job variables or another deployment", () => {
    expect(idempotencyConflict("k", stored, { ...stored, job_variables: { cpu: 2 } })?.message).toMatch(/job variables \(cpu\)/);
    expect(idempotencyConflict("k", stored, { ...stored, deployment_id: "dep-2" })?.message).toMatch(/a run of another deployment/);
  });
});

it("differingKeys compares values as JSON", () => {
  expect(differingKeys({ a: [1, 2], b: null }, { a: [1, 2], b: 0 })).toEqual(["b"]);
  expect(differingKeys({}, { x: undefined })).toEqual(["x"]);
});
