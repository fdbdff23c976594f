import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { FerryError, type Store } from "@ferry/core";
import { acquireDataDirLock, DataDirLockedError, type DataDirLock } from "./data-dir-lock.js";
import type { SqlDriver } from "./driver.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.js";
import { PgDriver } from "./pg-driver.js";
import { PgliteDriver } from "./pglite-driver.js";
import { SqlStore } from "./sql-store.js";

export interface OpenStoreOptions {
  /** postgres://… for PostgreSQL; null for the embedded PGlite store under `dataDir`. */
  databaseUrl: string | null;
  /** Directory of the embedded store, created if missing; `memory://` keeps it in memory only (PGlite). */
  dataDir: string;
  /**
   * Which embedded store runs when `databaseUrl` is null: PGlite in this process (default), or a
   * PostgreSQL child process of the `embedded-postgres` package, its data in `dataDir`/postgres.
   * The server always says which: its own default (ServerConfig.store) is the embedded PostgreSQL.
   */
  embedded?: EmbeddedStoreKind;
  /** The embedded PostgreSQL as root: false runs it as another user rather than in a user namespace (tests). */
  userNamespaces?: boolean;
  /** PostgreSQL connections in the pool. Default 10. */
  poolSize?: number;
  /**
   * Failures nobody awaits: a dropped idle connection, the notification connection lost and re-opened,
   * a subscriber's handler that threw. Without it the first two go unreported (the pool and the listener
   * recover by themselves) and a handler's error is rethrown as an uncaught exception.
   */
  onError?: (error: FerryError) => void;
  /** What the embedded PostgreSQL did that an operator should know: a postmaster left by a killed server, stopped. */
  onNotice?: (message: string) => void;
  /**
   * PGlite: analyse the tables that never had statistics before returning (default true). The server
   * passes false and runs its maintenance pass once it serves: ANALYZE of a large table would hold the
   * start, and the plans of what a start reads do not depend on statistics.
   */
  analyzeAtOpen?: boolean;
}

export const IN_MEMORY = "memory://";

/**
 * PGlite's start options. PostgreSQL initialises all of shared_buffers at start, and in PGlite they live
 * in the WebAssembly memory, which never shrinks: the default 128 MB was most of an idle server's
 * memory. Measured on a started server, idle (RSS, `ps -o rss`): 403 MiB with 128 MB, 308 MiB with
 * 32 MB, 293 MiB with 16 MB. 32 MB keeps a few thousand runs' pages cached; reads beyond it go to the
 * data directory's files (the operating system's cache), not to disk each time. PGlite's initial memory
 * cannot go below the 128 MiB its module declares.
 */
export const PGLITE_START_PARAMS: readonly string[] = [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB"];

export type EmbeddedStoreKind = "pglite" | "postgres";

/** Opens PostgreSQL when a URL is given, else the embedded store, and brings its schema up to date. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const driver = options.databaseUrl
    ? await openPostgres(options)
    : options.embedded === "postgres"
      ? await openEmbeddedPostgres(options)
      : await openPglite(options.dataDir);
  const store = new SqlStore(driver, { onError: options.onError });
  try {
    await store.migrate();
    // The embedded store has no autovacuum: a store that never had statistics (new, or written before
    // Ferry kept them) gets them now, before its first plans. Nothing on PostgreSQL.
    if (options.analyzeAtOpen !== false) await store.maintain({ missingOnly: true });
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

async function openPostgres(options: OpenStoreOptions): Promise<SqlDriver> {
  const url = options.databaseUrl!;
  const driver = new PgDriver({ connectionString: url, poolSize: options.poolSize, onError: options.onError });
  try {
    await driver.query("SELECT 1");
  } catch (error) {
    await driver.close().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new FerryError(
      "unavailable",
      `cannot connect to PostgreSQL at ${redact(url)} (FERRY_DATABASE_URL): ${reason}; ` +
        "check that the server is running and that the host, database, user and password are right, or unset FERRY_DATABASE_URL to use the embedded store",
      { cause: error },
    );
  }
  return driver;
}

/** The embedded store's driver, unmigrated (`openStore` migrates it). */
export async function openPglite(dataDir: string): Promise<SqlDriver> {
  if (dataDir === IN_MEMORY) {
    try {
      return new PgliteDriver(await PGlite.create({ startParams: [...PGLITE_START_PARAMS] }));
    } catch (error) {
      throw new FerryError("internal", `cannot start the embedded database in memory: ${message(error)}`, { cause: error });
    }
  }

  const dir = resolve(dataDir);
  const lock = lockDataDir(dir);
  try {
    const db = await PGlite.create({ dataDir: join(dir, "pglite"), startParams: [...PGLITE_START_PARAMS] });
    return new PgliteDriver(db, async () => lock.release());
  } catch (error) {
    lock.release();
    throw new FerryError(
      "unavailable",
      `cannot open the embedded database in ${join(dir, "pglite")}: ${message(error)}; ` +
        "its files may be damaged or from another PGlite version. Set FERRY_HOME to another directory to start afresh",
      { cause: error, retryable: false },
    );
  }
}

/** The embedded PostgreSQL: a child process started here and stopped when the driver closes. */
async function openEmbeddedPostgres(options: OpenStoreOptions): Promise<SqlDriver> {
  if (options.dataDir === IN_MEMORY) {
    throw new FerryError("validation_failed", "the embedded PostgreSQL keeps its data on disk: give it a directory, not memory://");
  }
  const dir = resolve(options.dataDir);
  const lock = lockDataDir(dir);
  let cluster: EmbeddedPostgres;
  try {
    cluster = await startEmbeddedPostgres({
      home: dir,
      // The server's home (FERRY_HOME) holds the data folder: the cluster's user must cross it too.
      openUpTo: dirname(dir),
      onNotice: options.onNotice,
      userNamespaces: options.userNamespaces,
    });
  } catch (error) {
    lock.release();
    // Whatever stopped it, the in-process store needs no child process, user or binaries: say so.
    throw new FerryError(
      "unavailable",
      `cannot start the embedded PostgreSQL in ${join(dir, "postgres")}: ${message(error)}; ` +
        "or use the in-process store instead: FERRY_STORE=pglite (ferry server start --store pglite)",
      { cause: error, retryable: false },
    );
  }
  const driver = new PgDriver({
    connectionString: cluster.url,
    poolSize: options.poolSize,
    onError: options.onError,
    onClose: async () => {
      try {
        await cluster.stop();
      } finally {
        lock.release();
      }
    },
  });
  try {
    await driver.query("SELECT 1");
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw new FerryError("unavailable", `the embedded PostgreSQL started but does not answer: ${message(error)}`, { cause: error });
  }
  return driver;
}

function lockDataDir(dir: string): DataDirLock {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return acquireDataDirLock(join(dir, "ferry-store.lock"));
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      throw new FerryError(
        "conflict",
        `the embedded database in ${dir} is in use by another Ferry server (process ${error.pid}); stop that server, ` +
          `or set FERRY_HOME to another directory. If no server is running, delete ${error.lockFile}`,
        { cause: error },
      );
    }
    throw new FerryError("unavailable", `cannot use ${dir} for the embedded database: ${message(error)}; set FERRY_HOME to a writable directory`, {
      cause: error,
      retryable: false,
    });
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "the configured URL";
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
