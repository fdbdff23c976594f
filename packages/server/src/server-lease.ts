import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isUuid, type Store } from "@ferry/core";
import type { DispatcherLogger } from "./dispatcher.js";
import { acquireDataDirLock, DataDirLockedError, type DataDirLock } from "./store/data-dir-lock.js";

/** Sweeps a lease outlives: a server that missed this many renewals in a row is taken for dead. */
export const LEASE_SWEEPS = 5;
/** Floor of a lease, so a very short sweep interval (tests) does not make a busy server look dead. */
const MIN_LEASE_MS = 1000;

export function leaseMsFor(sweepIntervalMs: number): number {
  return Math.max(LEASE_SWEEPS * sweepIntervalMs, MIN_LEASE_MS);
}

/**
 * Who this server process is to the others on the same database. Runs record the server that drives
 * them (`claimFlowRun`); a server renews its lease every sweep, and another server takes over a run only
 * once the owner's lease has expired. So a run is followed by one server at a time (no doubled cloud
 * status calls) and is never recovered from under a live server.
 *
 * The identity is kept in FERRY_HOME: a server restarted on the same home is the same server and resumes
 * its runs at once, without waiting for its old lease to expire (the runs of a host-local runner, such as
 * the process backend, can only be followed from that host). A second process on the same home while
 * the first runs gets an identity of its own.
 */
export class ServerLease {
  readonly leaseMs: number;
  private timer?: NodeJS.Timeout;
  private failures = 0;

  private constructor(
    readonly id: string,
    private readonly store: Store,
    private readonly logger: DispatcherLogger,
    private readonly intervalMs: number,
    private readonly lock: DataDirLock | null,
  ) {
    this.leaseMs = leaseMsFor(intervalMs);
  }

  /** Takes the home's identity (or a fresh one when another process holds it) and renews the lease once. */
  static async acquire(store: Store, home: string, options: { sweepIntervalMs: number; logger: DispatcherLogger }): Promise<ServerLease> {
    const { id, lock } = identity(home, options.logger);
    const lease = new ServerLease(id, store, options.logger, options.sweepIntervalMs, lock);
    try {
      await store.renewServerLease(id, lease.leaseMs);
    } catch (error) {
      lock?.release();
      throw error;
    }
    return lease;
  }

  /** Renews the lease every sweep interval; a failed renewal is logged and tried again at the next. */
  start(): void {
    this.timer ??= setInterval(() => void this.renew(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops renewing. The lease is not ended: runs that outlive this process (managed instances) are
   * resumed by its next start under the same identity, or taken over by another server once it expires.
   */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.lock?.release();
  }

  /**
   * Stops renewing and ends the lease now, by the database's clock: another server's next sweep takes
   * over this server's runs instead of waiting out the lease. For a graceful stop (SIGTERM) whose runs
   * another server can follow (a runner it can reach too, or push runs): a rolling update then hands
   * them over in one sweep. Its own next start on the same home still claims them back.
   */
  async release(): Promise<void> {
    this.stop();
    await this.store.renewServerLease(this.id, 0);
  }

  private async renew(): Promise<void> {
    try {
      await this.store.renewServerLease(this.id, this.leaseMs);
      if (this.failures) this.logger.info({ server_id: this.id, failures: this.failures }, "the server's lease is renewed again");
      this.failures = 0;
    } catch (error) {
      this.failures++;
      this.logger.error(
        { err: error, server_id: this.id, failures: this.failures },
        `could not renew this server's lease; other servers take over its runs if it stays unrenewed for ${this.leaseMs} ms`,
      );
    }
  }
}

function identity(home: string, logger: DispatcherLogger): { id: string; lock: DataDirLock | null } {
  let lock: DataDirLock;
  try {
    lock = acquireDataDirLock(join(home, "server-id.lock"));
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    const id = randomUUID();
    logger.warn({ server_id: id, pid: error.pid }, `another server (process ${error.pid}) runs on this FERRY_HOME: this one takes a server identity of its own`);
    return { id, lock: null };
  }
  const file = join(home, "server-id");
  const saved = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  if (isUuid(saved)) return { id: saved, lock };
  const id = randomUUID();
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return { id, lock };
}
