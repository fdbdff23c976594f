import { FerryError, isFerryError } from "@ferry/core";
import { TransactionAbortedError, TransactionClosedError } from "./driver.js";

/**
 * Turns whatever a database driver threw into a FerryError with the original as `cause`, so nothing
 * raw reaches an HTTP handler. node-postgres and PGlite both throw errors carrying PostgreSQL's
 * SQLSTATE in `code` and the violated constraint in `constraint`, so one function serves both.
 */

/** What each constraint protects, in words a user reads. Names are fixed by the migrations. */
const UNIQUE_CONSTRAINTS: Record<string, string> = {
  workspaces_pkey: "a workspace with this id",
  api_keys_pkey: "an API key with this id",
  api_keys_hash_key: "an API key with this hash",
  work_pools_pkey: "a work pool with this id",
  work_pools_workspace_name_key: "a work pool with this name",
  credentials_pkey: "credentials with this id",
  credentials_workspace_name_key: "credentials with this name",
  deployments_pkey: "a deployment with this id",
  deployments_workspace_flow_name_key: "a deployment with this flow and name",
  flow_runs_pkey: "a flow run with this id",
  flow_runs_idempotency_key: "a flow run with this idempotency key",
};

const MISSING_REFERENCES: Record<string, string> = {
  api_keys_workspace_fkey: "the workspace does not exist",
  work_pools_workspace_fkey: "the workspace does not exist",
  credentials_workspace_fkey: "the workspace does not exist",
  deployments_workspace_fkey: "the workspace does not exist",
  deployments_work_pool_fkey: "the deployment's work pool does not exist in this workspace",
  flow_runs_workspace_fkey: "the workspace does not exist",
  flow_run_states_flow_run_fkey: "the flow run does not exist",
  flow_run_logs_flow_run_fkey: "the flow run does not exist",
};

const STILL_REFERENCED: Record<string, string> = {
  deployments_work_pool_fkey: "the work pool is still used by deployments; delete them or move them to another pool first",
};

interface DatabaseErrorShape {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  detail?: unknown;
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

export function toFerryError(error: unknown): FerryError {
  if (isFerryError(error)) return error;
  if (error instanceof TransactionClosedError) return new FerryError("internal", error.message, { cause: error });

  const e = (typeof error === "object" && error !== null ? error : {}) as DatabaseErrorShape;
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(error);
  const constraint = typeof e.constraint === "string" ? e.constraint : "";
  const detail = typeof e.detail === "string" ? e.detail.replace(/\.$/, "") : "";

  if (code === "23505") {
    const what = UNIQUE_CONSTRAINTS[constraint] ?? "a row with the same key";
    return new FerryError("conflict", `${what} already exists${detail ? ` (${detail})` : ""}`, { cause: error, details: { constraint } });
  }
  if (code === "23503") {
    // PostgreSQL says "is not present in table" when the row referred to is missing, "is still
    // referenced" when a delete would orphan rows.
    if (detail.includes("is still referenced")) {
      const why = STILL_REFERENCED[constraint] ?? `it is still referenced (${detail})`;
      return new FerryError("conflict", `cannot delete: ${why}`, { cause: error, details: { constraint } });
    }
    const why = MISSING_REFERENCES[constraint] ?? `a referenced row does not exist (${detail || constraint})`;
    return new FerryError("not_found", why, { cause: error, details: { constraint } });
  }
  if (code === "22P02" || code === "22021" || code === "22P05" || code === "23502" || code === "23514" || code === "22001" || code === "22023" || code === "22007" || code === "22008") {
    return new FerryError("validation_failed", `the database refused a value: ${message}`, { cause: error, details: { sqlstate: code } });
  }
  if (code === "40001" || code === "40P01" || code === "55P03" || code === "53300" || code === "57P01" || code === "57P02" || code === "57P03" || code.startsWith("08")) {
    return new FerryError("unavailable", `the database is unavailable or busy, try again: ${message}`, { cause: error, details: { sqlstate: code } });
  }
  if (CONNECTION_ERROR_CODES.has(code) || /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return new FerryError("unavailable", `lost the connection to the database: ${message}`, { cause: error });
  }
  if (code === "25P02" || error instanceof TransactionAbortedError) {
    // node-postgres (via PgDriver) and PGlite both report it as 25P02.
    return new FerryError(
      "internal",
      "the transaction was rolled back instead of committed: one of its statements failed and the caller caught the error and carried on",
      { cause: error },
    );
  }
  return new FerryError("internal", `database error${code ? ` (SQLSTATE ${code})` : ""}: ${message}`, { cause: error, details: code ? { sqlstate: code } : undefined });
}
