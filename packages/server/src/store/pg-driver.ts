import pg from "pg";
import { FerryError } from "@ferry/core";
import { TransactionAbortedError, TransactionClosedError, type SqlDriver, type SqlExecutor, type SqlResult } from "./driver.js";

export interface PgDriverOptions {
  connectionString: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /**
   * Failures nobody awaits: an idle pooled connection that broke (the pool drops it and the next
   * query opens a new one) or the notification connection being lost and re-opened.
   */
  onError?: (error: FerryError) => void;
  /** Runs once the pool has closed (the embedded PostgreSQL stops its child process here). */
  onClose?: () => Promise<void>;
}

/** Upper bound on named prepared statements; past it, queries run unnamed (parsed every time). */
const MAX_PREPARED = 500;

/**
 * PostgreSQL through a node-postgres pool, plus one dedicated connection for LISTEN (a pooled
 * connection cannot hold a subscription). Statements are prepared once per connection by name, which
 * saves the parse and plan on the hot paths.
 */
export class PgDriver implements SqlDriver {
  readonly kind = "postgres" as const;
  private readonly pool: pg.Pool;
  private readonly statementNames = new Map<string, string>();
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private listener: Promise<pg.Client> | null = null;
  private listenerConnection: pg.Client | null = null;
  /** Serialises LISTEN/UNLISTEN so a subscription and an unsubscription of one channel cannot cross. */
  private listenQueue: Promise<unknown> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs = 250;
  private closed = false;

  constructor(private readonly options: PgDriverOptions) {
    this.pool = new pg.Pool({ ...connectionConfig(options.connectionString), max: options.poolSize ?? 10 });
    // Without a listener an idle connection's error (say, the server restarting) would crash the process.
    // Once closing, connections the server ends (the embedded PostgreSQL's shutdown) are no failure.
    this.pool.on("error", (error) => {
      if (!this.closed) this.report("a pooled PostgreSQL connection failed while idle; it was discarded", error);
    });
  }

  query<R>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return run<R>(this.pool, this.statement(sql, params));
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let ended = false;
    const tx: SqlExecutor = {
      query: <R>(sql: string, params: readonly unknown[] = []) => {
        if (ended) return Promise.reject(new TransactionClosedError());
        return run<R>(client, this.statement(sql, params));
      },
      exec: async (sql: string) => {
        if (ended) throw new TransactionClosedError();
        await client.query(sql);
      },
    };

    try {
      await client.query("BEGIN");
    } catch (error) {
      client.release(asError(error));
      throw error;
    }

    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      ended = true;
      try {
        await client.query("ROLLBACK");
        client.release();
      } catch (rollbackError) {
        // The connection is in an unknown state: destroy it rather than hand it to the next caller.
        client.release(asError(rollbackError));
      }
      throw error;
    }

    ended = true;
    let committed: pg.QueryResult;
    try {
      committed = await client.query("COMMIT");
    } catch (error) {
      client.release(asError(error));
      throw error;
    }
    client.release();
    // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK and no error.
    if (committed.command === "ROLLBACK") throw new TransactionAbortedError();
    return result;
  }

  async listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    await this.serialised(async () => {
      let set = this.handlers.get(channel);
      const first = !set;
      if (!set) {
        set = new Set();
        this.handlers.set(channel, set);
      }
      set.add(handler);
      if (!first) return;
      try {
        // A new connection LISTENs to every channel in `handlers` as it connects.
        const fresh = this.listener === null;
        const client = await this.listenClient();
        if (!fresh) await client.query(`LISTEN ${quote(channel)}`);
      } catch (error) {
        set.delete(handler);
        if (set.size === 0) this.handlers.delete(channel);
        throw error;
      }
    });
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      await this.serialised(async () => {
        const set = this.handlers.get(channel);
        set?.delete(handler);
        if (!set || set.size > 0) return;
        this.handlers.delete(channel);
        if (this.listener && !this.closed) {
          const client = await this.listener.catch(() => null);
          await client?.query(`UNLISTEN ${quote(channel)}`);
        }
      });
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = null;
    if (listener) {
      const client = await listener.catch(() => null);
      await client?.end().catch(() => undefined);
    }
    try {
      await this.pool.end();
    } finally {
      await this.options.onClose?.();
    }
  }

  private statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
    let name = this.statementNames.get(sql);
    if (name === undefined && this.statementNames.size < MAX_PREPARED) {
      name = `ferry_${this.statementNames.size + 1}`;
      this.statementNames.set(sql, name);
    }
    return { text: sql, values: params as unknown[], ...(name === undefined ? {} : { name }) };
  }

  private serialised<T>(op: () => Promise<T>): Promise<T> {
    const next = this.listenQueue.then(op, op);
    this.listenQueue = next.catch(() => undefined);
    return next;
  }

  private listenClient(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new FerryError("unavailable", "the store is closed"));
    if (!this.listener) {
      const connecting = this.connectListener();
      this.listener = connecting;
      connecting.catch(() => {
        if (this.listener === connecting) this.listener = null;
      });
    }
    return this.listener;
  }

  private async connectListener(): Promise<pg.Client> {
    const client = new pg.Client(connectionConfig(this.options.connectionString));
    let lost = false;
    const onLost = (error: unknown) => {
      if (lost) return;
      lost = true;
      void client.end().catch(() => undefined);
      this.listenerLost(client, error);
    };
    client.on("notification", (message) => this.dispatch(message.channel, message.payload ?? ""));
    client.on("error", onLost);
    client.on("end", () => onLost(null));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quote(channel)}`);
    this.listenerConnection = client;
    this.reconnectDelayMs = 250;
    return client;
  }

  private listenerLost(client: pg.Client, error: unknown): void {
    if (this.closed) return;
    if (this.listenerConnection === client) {
      this.listenerConnection = null;
      this.listener = null;
    }
    this.report("lost the PostgreSQL connection that receives notifications; reconnecting (notifications sent meanwhile are missed)", error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer || this.handlers.size === 0) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, 30_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listenClient().catch((error) => {
        this.report("could not re-open the PostgreSQL connection that receives notifications; retrying", error);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(channel: string, payload: string): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (error) {
        // Thrown from a socket event it would crash the process; the subscriber's bug is reported instead.
        this.options.onError?.(new FerryError("internal", `a handler of notifications on '${channel}' threw`, { cause: error }));
      }
    }
  }

  private report(message: string, error: unknown): void {
    this.options.onError?.(new FerryError("unavailable", message, { cause: error }));
  }
}

async function run<R>(target: pg.Pool | pg.PoolClient, config: pg.QueryConfig): Promise<SqlResult<R>> {
  const result = await target.query(config);
  return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
}

function connectionConfig(connectionString: string): pg.ClientConfig {
  return {
    connectionString,
    application_name: "ferry",
    keepAlive: true,
    // Bounds both opening a connection and waiting for a free one in the pool: an unreachable or
    // saturated server fails a request instead of hanging it.
    connectionTimeoutMillis: 10_000,
  };
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
