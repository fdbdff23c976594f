import { randomBytes } from "node:crypto";
import pg from "pg";

/** The store a suite runs on: PGlite in `npm test`, PostgreSQL (FERRY_TEST_DATABASE_URL) in `npm run test:e2e`. */
export type StoreKind = "pglite" | "postgres";

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
