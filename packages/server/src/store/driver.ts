/**
 * The narrow seam between the SQL store and a database connection. Two implementations sit beside it:
 * `PgDriver` (a node-postgres pool) and `PgliteDriver` (one embedded PGlite connection). Both return
 * the same JavaScript values for the same SQL, so the store above them has one code path.
 *
 * Values the store relies on: `timestamptz` arrives as a `Date`, `jsonb` as parsed JSON, `int4` and
 * `float8` as numbers, `boolean` as booleans, `uuid` and `text` as strings. `int8` differs between the
 * drivers (string vs number or bigint), so the store casts it to `text` or `int` in SQL.
 */
export interface SqlExecutor {
  /** One statement with `$1…` parameters. Pass `jsonb` values as JSON text and cast them in SQL. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** Several statements without parameters (migration scripts). */
  exec(sql: string): Promise<void>;
}

export interface SqlResult<R> {
  rows: R[];
  /** Rows the statement inserted, updated, deleted or returned. */
  rowCount: number;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: "pglite" | "postgres";
  /**
   * Runs `fn` between BEGIN and COMMIT on one connection, rolling back if it throws. The executor is
   * unusable once the transaction has ended. A COMMIT that PostgreSQL turns into a ROLLBACK (the
   * transaction had failed) throws rather than pretending the writes happened.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** `channel` must already be a valid lower-case identifier: drivers quote it as is. */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by an executor used after its transaction ended: a caller kept `tx` beyond the callback. */
export class TransactionClosedError extends Error {
  override readonly name = "TransactionClosedError";
  constructor() {
    super("this transaction has already ended; use the tx only inside the callback passed to transaction()");
  }
}

/** Thrown when COMMIT rolled back because a statement of the transaction had failed. */
export class TransactionAbortedError extends Error {
  override readonly name = "TransactionAbortedError";
  readonly code = "25P02";
  constructor() {
    super("the transaction was rolled back instead of committed because one of its statements failed");
  }
}
