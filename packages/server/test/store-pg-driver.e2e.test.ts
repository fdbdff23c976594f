import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FerryError } from "@ferry/core";
import { postgres } from "../../../test-support/services.js";
import { PgDriver } from "../src/store/pg-driver.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

describe("PgDriver", postgres(), () => {
  let driver: PgDriver;
  let admin: pg.Client;
  const errors: FerryError[] = [];

  beforeAll(async () => {
    const connectionString = process.env.FERRY_TEST_DATABASE_URL!; // set: postgres() runs this suite only then
    driver = new PgDriver({ connectionString, poolSize: 2, onError: (e) => errors.push(e) });
    admin = new pg.Client({ connectionString });
    await admin.connect();
  });
  afterAll(async () => {
    await driver?.close();
    await admin?.end();
  });

  it("re-opens the notification connection after it is killed and keeps delivering", async () => {
    const channel = `ferry_t_${randomBytes(4).toString("hex")}`;
    const received: string[] = [];
    const stop = await driver.listen(channel, (p) => received.push(p));
    await driver.notify(channel, "before");
    await waitFor(() => received.includes("before"));

    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'ferry' AND query = $1",
      [`LISTEN "${channel}"`],
    );
    expect(rows[0]!.n).toBe(1);
    await waitFor(() => errors.some((e) => /notifications; reconnecting/.test(e.message)));
    expect(errors[0]!.code).toBe("unavailable");

    // Notifications sent while it reconnects may be missed (callers re-read the store); later ones arrive.
    await waitFor(() => {
      void driver.notify(channel, "after");
      return received.includes("after");
    });
    await stop();
  });

  it("reports a COMMIT that PostgreSQL turned into a ROLLBACK instead of pretending it committed", async () => {
    const table = `ferry_t_${randomBytes(4).toString("hex")}`;
    await driver.exec(`CREATE TABLE ${table} (x int PRIMARY KEY)`);
    try {
      const outcome = await driver
        .transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} VALUES (1)`);
          await tx.query(`INSERT INTO ${table} VALUES (1)`).catch(() => undefined); // swallowed by a careless caller
          return "returned normally";
        })
        .catch((e: Error) => e.name);
      expect(outcome).toBe("TransactionAbortedError");
      expect((await driver.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n).toBe(0);
      // The connection went back to the pool in a usable state.
      expect((await driver.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one).toBe(1);
    } finally {
      await driver.exec(`DROP TABLE ${table}`);
    }
  });

  it("refuses a transaction's executor once the transaction has ended", async () => {
    let kept: { query(sql: string): Promise<unknown> } | null = null;
    await driver.transaction(async (tx) => {
      kept = tx;
    });
    await expect(kept!.query("SELECT 1")).rejects.toThrow(/already ended/);
  });
});
