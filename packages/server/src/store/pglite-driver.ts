import type { PGlite, Transaction } from "@electric-sql/pglite";
import { TransactionClosedError, type SqlDriver, type SqlExecutor, type SqlResult } from "./driver.js";

/**
 * PGlite: PostgreSQL compiled to WebAssembly, in this process, with ONE connection.
 *
 * One connection means one transaction at a time. PGlite guards it with two mutexes: `transaction()`
 * holds the transaction mutex from BEGIN to COMMIT, and the top-level `query()`/`exec()` take that same
 * mutex, so a query issued from outside while a transaction is open waits for it to end instead of
 * running inside it. Statements of the open transaction go through its `tx` object, which takes only
 * the inner query mutex. The flip side: awaiting a top-level query from inside a transaction callback
 * waits forever, which the store refuses before it gets here.
 */
export class PgliteDriver implements SqlDriver {
  readonly kind = "pglite" as const;
  private closed = false;

  /** `onClose` runs after the database has closed (releases the data directory's lock). */
  constructor(
    private readonly db: PGlite,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return toResult(await this.db.query<R>(sql, params as unknown[]));
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // PGlite rolls back when the callback throws and throws when COMMIT turns into ROLLBACK.
    return this.db.transaction(async (pgTx: Transaction) => {
      let ended = false;
      const tx: SqlExecutor = {
        query: async <R>(sql: string, params: readonly unknown[] = []) => {
          if (ended) throw new TransactionClosedError();
          return toResult(await pgTx.query<R>(sql, params as unknown[]));
        },
        exec: async (sql: string) => {
          if (ended) throw new TransactionClosedError();
          await pgTx.exec(sql);
        },
      };
      try {
        return await fn(tx);
      } finally {
        ended = true;
      }
    });
  }

  async listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, handler);
    let active = true;
    return async () => {
      if (!active || this.closed) return;
      active = false;
      await unlisten();
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.db.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Waits for the open transaction and queued queries to finish.
      await this.db.close();
    } finally {
      await this.onClose();
    }
  }
}

function toResult<R>(result: { rows: R[]; affectedRows?: number }): SqlResult<R> {
  return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
}
