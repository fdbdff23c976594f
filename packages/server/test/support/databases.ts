import { randomBytes } from "node:crypto";
import pg from "pg";

export type StoreKind = "pglite" | "postgres";

/**
 * The stores integration tests run against. PGlite always; PostgreSQL when FERRY_TEST_DATABASE_URL is
 * set. On CI (CI=true) a missing PostgreSQL is an error, not a skip: .ci/run must provide it.
 */
export function storeKinds(): StoreKind[] {
  const url = process.env.FERRY_TEST_DATABASE_URL;
  if (!url && process.env.CI) {
    throw new Error("CI is set but FERRY_TEST_DATABASE_URL is not: the PostgreSQL half of the tests would silently not run");
  }
  if (!url) console.warn("FERRY_TEST_DATABASE_URL is not set: PostgreSQL variants of the tests are skipped");
  return url ? ["pglite", "postgres"] : ["pglite"];
}

/** A fresh, empty PostgreSQL database for one test file, and how to drop it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.FERRY_TEST_DATABASE_URL;
  if (!base) throw new Error("FERRY_TEST_DATABASE_URL is not set");
  const name = `ferry_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
