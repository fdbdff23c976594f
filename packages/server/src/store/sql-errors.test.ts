import { describe, expect, it } from "vitest";
import { FerryError } from "@ferry/core";
import { TransactionAbortedError } from "./driver.js";
import { toFerryError } from "./sql-errors.js";

/** Errors shaped like those node-postgres and PGlite throw (both carry PostgreSQL's fields). */
function pgError(fields: { code: string; message: string; constraint?: string; detail?: string }): Error {
  return Object.assign(new Error(fields.message), fields);
}

describe("toFerryError", () => {
  it("passes a FerryError through unchanged", () => {
    const original = new FerryError("not_found", "x");
    expect(toFerryError(original)).toBe(original);
  });

  it("names what already exists on a unique violation", () => {
    const cause = pgError({
      code: "23505",
      message: 'duplicate key value violates unique constraint "flow_runs_pkey"',
      constraint: "flow_runs_pkey",
      detail: "Key (id)=(0190…) already exists.",
    });
    const e = toFerryError(cause);
    expect(e.code).toBe("conflict");
    expect(e.message).toBe("a flow run with this id already exists (Key (id)=(0190…) already exists)");
    expect(e.cause).toBe(cause);
  });

  it("tells a missing reference from a row still referenced", () => {
    const missing = toFerryError(
      pgError({
        code: "23503",
        message: "insert or update on table deployments violates foreign key constraint",
        constraint: "deployments_work_pool_fkey",
        detail: 'Key (workspace_id, work_pool_id)=(a, b) is not present in table "work_pools".',
      }),
    );
    expect(missing.code).toBe("not_found");
    expect(missing.message).toMatch(/work pool does not exist in this workspace/);

    const referenced = toFerryError(
      pgError({
        code: "23503",
        message: "update or delete on table work_pools violates foreign key constraint",
        constraint: "deployments_work_pool_fkey",
        detail: 'Key (workspace_id, id)=(a, b) is still referenced from table "deployments".',
      }),
    );
    expect(referenced.code).toBe("conflict");
    expect(referenced.message).toMatch(/still used by deployments; delete them or move them/);
  });

  it("classifies bad values, busy databases and lost connections", () => {
    expect(toFerryError(pgError({ code: "22P02", message: "invalid input syntax for type uuid" })).code).toBe("validation_failed");
    const deadlock = toFerryError(pgError({ code: "40P01", message: "deadlock detected" }));
    expect(deadlock.code).toBe("unavailable");
    expect(deadlock.retryable).toBe(true);
    const refused = toFerryError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
    expect(refused.code).toBe("unavailable");
    expect(toFerryError(new Error("Connection terminated unexpectedly")).code).toBe("unavailable");
  });

  it("explains a rolled-back commit and keeps anything else as internal with its cause", () => {
    expect(toFerryError(new TransactionAbortedError()).message).toMatch(/rolled back instead of committed: .* caught the error and carried on/);
    const odd = pgError({ code: "XX000", message: "internal error" });
    const e = toFerryError(odd);
    expect(e.code).toBe("internal");
    expect(e.message).toBe("database error (SQLSTATE XX000): internal error");
    expect(e.cause).toBe(odd);
    expect(toFerryError("a string").cause).toBe("a string");
  });
});
