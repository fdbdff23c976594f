import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryError, newId } from "@ferry/core";
import { openPglite, openStore } from "../src/store/open-store.js";

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected the call to be rejected");
}

describe("openStore: the embedded store on disk", () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), "ferry-store-"));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("creates the directory, keeps data across restarts, and locks it while open", async () => {
    const dataDir = join(home, "nested", "data");
    const first = await openStore({ databaseUrl: null, dataDir });
    expect(first.kind).toBe("pglite");
    const ws = await first.createWorkspace({ id: newId(), name: "kept", tier: "pro", limits_override: {} });

    const second = await rejection(openStore({ databaseUrl: null, dataDir }));
    expect(second.code).toBe("conflict");
    expect(second.message).toMatch(/in use by another Ferry server .*set FERRY_HOME to another directory/);
    expect(second.message).toContain(join(dataDir, "ferry-store.lock"));

    await first.close();
    const reopened = await openStore({ databaseUrl: null, dataDir });
    try {
      expect(await reopened.getWorkspace(ws.id)).toEqual(ws);
      expect(await reopened.countWorkspaces()).toBe(1);
    } finally {
      await reopened.close();
    }
  });

  it("starts PGlite with small shared buffers, and gives a store without statistics its statistics when it opens", async () => {
    const memory = await openPglite("memory://");
    try {
      expect((await memory.query<{ shared_buffers: string }>("SHOW shared_buffers")).rows[0]!.shared_buffers).toBe("32MB");
    } finally {
      await memory.close();
    }
    const dataDir = join(home, "statistics");
    await (await openStore({ databaseUrl: null, dataDir })).close();
    const driver = await openPglite(dataDir);
    try {
      const { rows } = await driver.query<{ relname: string; reltuples: number }>(
        "SELECT relname, reltuples::float8 AS reltuples FROM pg_class WHERE relname IN ('flow_runs', 'work_pools', 'workspaces') ORDER BY relname",
      );
      // -1 is "never analysed"; an analysed empty table has 0.
      expect(rows).toEqual([
        { relname: "flow_runs", reltuples: 0 },
        { relname: "work_pools", reltuples: 0 },
        { relname: "workspaces", reltuples: 0 },
      ]);
    } finally {
      await driver.close();
    }
  });

  it("refuses a directory locked by another live process", async () => {
    const dataDir = join(home, "held");
    const other: ChildProcess = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const probe = await openStore({ databaseUrl: null, dataDir });
      await probe.close();
      writeFileSync(join(dataDir, "ferry-store.lock"), JSON.stringify({ pid: other.pid, token: "other" }));
      const error = await rejection(openStore({ databaseUrl: null, dataDir }));
      expect(error.message).toContain(`process ${other.pid}`);
      expect(error.message).toContain("FERRY_HOME");
    } finally {
      other.kill();
    }
  });

  it("names FERRY_HOME when the directory cannot be made", async () => {
    const file = join(home, "a-file");
    writeFileSync(file, "not a directory");
    const error = await rejection(openStore({ databaseUrl: null, dataDir: join(file, "data") }));
    expect(error.message).toMatch(/set FERRY_HOME to a writable directory/);
    expect(error.cause).toBeDefined();
  });
});

describe("openStore: background failures", () => {
  it("hands what a subscriber threw to onError instead of losing it", async () => {
    const errors: FerryError[] = [];
    const store = await openStore({ databaseUrl: null, dataDir: "memory://", onError: (e) => errors.push(e) });
    try {
      const bug = new Error("subscriber bug");
      await store.subscribe("ferry_test_throws", () => {
        throw bug;
      });
      await store.publish("ferry_test_throws", "x");
      const deadline = Date.now() + 5000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toBe("a subscriber of 'ferry_test_throws' threw while handling a notification");
      expect(errors[0]!.cause).toBe(bug);
    } finally {
      await store.close();
    }
  });
});

describe("openStore: PostgreSQL", () => {
  it("names FERRY_DATABASE_URL, without the password, when PostgreSQL cannot be reached", async () => {
    const error = await rejection(openStore({ databaseUrl: "postgres://ferry:s3cret@127.0.0.1:1/ferry", dataDir: "unused" }));
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/cannot connect to PostgreSQL at postgres:\/\/ferry:\*\*\*@127\.0\.0\.1:1\/ferry \(FERRY_DATABASE_URL\)/);
    expect(error.message).not.toContain("s3cret");
    expect(error.cause).toBeDefined();
  });
});
