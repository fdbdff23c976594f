import { randomBytes } from "node:crypto";
import pg from "pg";

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** The URL of database `name` on the server `baseUrl` points at, with the same role and options. */
export function databaseUrlFor(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A new, empty database `ferry_bench_<random>` on the server of `baseUrl`, so every run starts from
 * the same empty tables and never touches data that matters. `drop` forces other sessions off first:
 * the server's pool may still hold connections if it was not closed cleanly.
 */
export async function createBenchDatabase(baseUrl: string): Promise<BenchDatabase> {
  const name = `ferry_bench_${randomBytes(6).toString("hex")}`;
  await withAdmin(baseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: databaseUrlFor(baseUrl, name),
    drop: () => withAdmin(baseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
