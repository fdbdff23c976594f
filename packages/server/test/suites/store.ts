import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEPLOYMENT_SCHEDULING_DEFAULTS,
  NEW_RUN_RETRY_FIELDS,
  RETRY_DEFAULTS,
  FerryError,
  MANAGED_POOL_TYPE,
  newId,
  stateChange,
  type DeploymentRecord,
  type FlowRunRecord,
  type NewFlowRun,
  type StateType,
  type Store,
  type StoreTx,
  type WorkPoolRecord,
  type WorkspaceRecord,
} from "@ferry/core";
import type { SqlDriver, SqlExecutor } from "../../src/store/driver.js";
import { MIGRATIONS, migrate } from "../../src/store/migrations.js";
import { openStore } from "../../src/store/open-store.js";
import { PgDriver } from "../../src/store/pg-driver.js";
import { PgliteDriver } from "../../src/store/pglite-driver.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/store/embedded-postgres.js";
import { SqlStore } from "../../src/store/sql-store.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";
import { storeListsSuite } from "./store-lists.js";
import { storeOidcSuite } from "./store-oidc.js";
import { storeRunsSuite } from "./store-runs.js";

/**
 * One suite for the store, run on PGlite (store.test.ts) and on PostgreSQL (store.e2e.test.ts). Each
 * target hands out stores on databases no other test uses; on PostgreSQL that is a new database per
 * store, dropped afterwards.
 */
export interface Target {
  kind: StoreKind;
  /** A migrated store on an empty database. */
  fresh(): Promise<Store>;
  /** An empty, unmigrated database and a driver on it (several drivers for PostgreSQL). */
  rawDatabase(): Promise<{ driver(): Promise<SqlDriver> }>;
  /** A second store on the database of `store`, when the target can have several connections. */
  sameDatabase?(store: Store): Promise<Store>;
  dispose(): Promise<void>;
}

export function pgliteTarget(): Target {
  const open: { close(): Promise<unknown> }[] = [];
  return {
    kind: "pglite",
    async fresh() {
      const store = await openStore({ databaseUrl: null, dataDir: "memory://" });
      open.push(store);
      return store;
    },
    async rawDatabase() {
      const driver = new PgliteDriver(await PGlite.create());
      open.push(driver);
      return { driver: async () => driver };
    },
    async dispose() {
      await Promise.all(open.map((s) => s.close()));
    },
  };
}

export function postgresTarget(): Target {
  const open: { close(): Promise<unknown> }[] = [];
  const drops: (() => Promise<void>)[] = [];
  const urls = new Map<Store, string>();
  return {
    kind: "postgres",
    async fresh() {
      const db = await freshDatabase();
      drops.push(db.drop);
      const store = await openStore({ databaseUrl: db.url, dataDir: "unused" });
      open.push(store);
      urls.set(store, db.url);
      return store;
    },
    async rawDatabase() {
      const db = await freshDatabase();
      drops.push(db.drop);
      return {
        driver: async () => {
          const driver = new PgDriver({ connectionString: db.url, poolSize: 3 });
          open.push(driver);
          return driver;
        },
      };
    },
    async sameDatabase(store) {
      const url = urls.get(store);
      if (!url) throw new Error("not a store of this target");
      const other = await openStore({ databaseUrl: url, dataDir: "unused" });
      open.push(other);
      return other;
    },
    async dispose() {
      await Promise.all(open.map((s) => s.close()));
      for (const drop of drops) await drop();
    },
  };
}

/**
 * PostgreSQL run by the server as a child process (`embedded-postgres`): one cluster for the file, in a
 * temporary home started on first use, a new database per store; stopped by `dispose`.
 */
export function embeddedPostgresTarget(): Target {
  const open: { close(): Promise<unknown> }[] = [];
  const urls = new Map<Store, string>();
  let home: string | null = null;
  let cluster: Promise<EmbeddedPostgres> | null = null;
  let count = 0;
  const database = async () => {
    if (!cluster) {
      home = mkdtempSync(join(tmpdir(), "ferry-epg-store-"));
      cluster = startEmbeddedPostgres({ home });
    }
    const c = await cluster;
    const name = `ferry_t${++count}`;
    const admin = new pg.Client({ connectionString: c.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(c.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return {
    kind: "postgres",
    async fresh() {
      const url = await database();
      const store = await openStore({ databaseUrl: url, dataDir: "unused" });
      open.push(store);
      urls.set(store, url);
      return store;
    },
    async rawDatabase() {
      const url = await database();
      return {
        driver: async () => {
          const driver = new PgDriver({ connectionString: url, poolSize: 3 });
          open.push(driver);
          return driver;
        },
      };
    },
    async sameDatabase(store) {
      const url = urls.get(store);
      if (!url) throw new Error("not a store of this target");
      const other = await openStore({ databaseUrl: url, dataDir: "unused" });
      open.push(other);
      return other;
    },
    async dispose() {
      await Promise.all(open.map((s) => s.close()));
      if (cluster) await (await cluster).stop();
      if (home) rmSync(home, { recursive: true, force: true });
    },
  };
}

// --- builders

const T0 = Date.parse("2026-03-10T12:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

export async function workspace(store: StoreTx, name = "acme"): Promise<WorkspaceRecord> {
  return store.createWorkspace({ id: newId(), name, tier: "free", limits_override: {} });
}

export async function pool(store: StoreTx, ws: WorkspaceRecord, name: string, type = "fake:push"): Promise<WorkPoolRecord> {
  return store.insertWorkPool({
    id: newId(),
    workspace_id: ws.id,
    name,
    type,
    description: null,
    base_job_template: { variables: { type: "object", properties: {} }, job_configuration: { image: "{{ image }}" } },
    concurrency_limit: null,
    paused: false,
    credentials: null,
  });
}

export function deploymentInput(ws: WorkspaceRecord, p: WorkPoolRecord, name: string, flowName = "etl"): Omit<DeploymentRecord, "created_at" | "updated_at"> {
  return {
    id: newId(),
    workspace_id: ws.id,
    flow_name: flowName,
    name,
    work_pool: p.name,
    work_pool_id: p.id,
    source: { git_url: "https://github.com/acme/flows.git", branch: "main", commit: null, credentials: null },
    entrypoint: "flows/etl.py:etl",
    job_variables: { image: "python:3.12" },
    parameters: { day: "2026-03-10" },
    parameter_schema: { type: "object", properties: { day: { type: "string" } } },
    pull_steps: [{ git_clone: { repository: "https://github.com/acme/flows.git" } }],
    tags: ["nightly"],
    description: "nightly load",
    paused: false,
    ...DEPLOYMENT_SCHEDULING_DEFAULTS,
    ...RETRY_DEFAULTS,
  };
}

export async function deployment(store: StoreTx, ws: WorkspaceRecord, p: WorkPoolRecord, name: string, flowName = "etl"): Promise<DeploymentRecord> {
  return store.insertDeployment(deploymentInput(ws, p, name, flowName));
}

function runInput(
  ws: WorkspaceRecord,
  d: DeploymentRecord,
  p: WorkPoolRecord,
  options: { createdAt?: string; key?: string | null; id?: string } = {},
): NewFlowRun {
  return {
    id: options.id ?? newId(),
    workspace_id: ws.id,
    name: `${d.name}-run`,
    deployment_id: d.id,
    deployment_name: d.name,
    flow_name: d.flow_name,
    work_pool_id: p.id,
    work_pool: p.name,
    work_pool_type: p.type,
    parameters: { day: "2026-03-10", n: 3 },
    job_variables: { image: "python:3.12" },
    job_configuration: { image: "python:3.12" },
    tags: ["nightly", "etl"],
    idempotency_key: options.key ?? null,
    state: stateChange("SCHEDULED"),
    created_at: options.createdAt ?? new Date().toISOString(),
  };
}

/** A run moved to `type` (via the states a real run passes through). */
async function runIn(store: StoreTx, ws: WorkspaceRecord, d: DeploymentRecord, p: WorkPoolRecord, type: StateType, createdAt?: string): Promise<FlowRunRecord> {
  let run = await store.insertFlowRun(runInput(ws, d, p, { createdAt }));
  const path: Record<StateType, StateType[]> = {
    SCHEDULED: [],
    PENDING: ["PENDING"],
    RUNNING: ["PENDING", "RUNNING"],
    CANCELLING: ["PENDING", "RUNNING", "CANCELLING"],
    COMPLETED: ["PENDING", "RUNNING", "COMPLETED"],
    FAILED: ["PENDING", "RUNNING", "FAILED"],
    CRASHED: ["PENDING", "CRASHED"],
    CANCELLED: ["CANCELLED"],
  };
  for (const step of path[type]) {
    run = (await store.setFlowRunState(run.id, { ...stateChange(step), timestamp: new Date().toISOString() })).run;
  }
  return run;
}

export async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected the call to be rejected");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A driver that records every statement the store sends through it, in transactions too. */
export function recordingDriver(driver: SqlDriver): { driver: SqlDriver; statements: { sql: string; params: readonly unknown[] }[] } {
  const statements: { sql: string; params: readonly unknown[] }[] = [];
  const record = (db: SqlExecutor): SqlExecutor => ({
    query: (sql, params = []) => {
      statements.push({ sql, params });
      return db.query(sql, params);
    },
    exec: (sql) => db.exec(sql),
  });
  return {
    statements,
    driver: {
      kind: driver.kind,
      ...record(driver),
      transaction: (fn) => driver.transaction((tx) => fn(record(tx))),
      listen: (channel, handler) => driver.listen(channel, handler),
      notify: (channel, payload) => driver.notify(channel, payload),
      close: () => driver.close(),
    },
  };
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

/** Every node of the statement's plan (EXPLAIN, not run), with the statement's own parameters. */
export async function planNodes(db: SqlExecutor, sql: string, params: readonly unknown[]): Promise<PlanNode[]> {
  const { rows } = await db.query<{ "QUERY PLAN": { Plan: PlanNode }[] | string }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  const raw = rows[0]!["QUERY PLAN"];
  const plan = (typeof raw === "string" ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
  const nodes: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n);
    n.Plans?.forEach(walk);
  };
  walk(plan[0]!.Plan);
  return nodes;
}

/**
 * `n` runs put straight into flow_runs by one statement (cheap), half in each pool, the way a store
 * looks after a while: 1 in 100 waiting, 1 in 100 running, 1 in 50 failed, the rest completed.
 */
export async function seedRuns(db: SqlExecutor, ws: WorkspaceRecord, push: WorkPoolRecord, managed: WorkPoolRecord, n: number): Promise<void> {
  await db.query(
    `INSERT INTO flow_runs (id, workspace_id, name, deployment_id, deployment_name, flow_name, work_pool_id, work_pool, work_pool_type,
       state_type, state_name, state_timestamp, parameters, job_variables, job_configuration, tags, created_at, updated_at)
     SELECT gen_random_uuid(), $1, 'run-' || i, gen_random_uuid(), 'nightly', 'etl',
       CASE WHEN i % 2 = 0 THEN $2::uuid ELSE $4::uuid END, CASE WHEN i % 2 = 0 THEN $3 ELSE $5 END, CASE WHEN i % 2 = 0 THEN $6 ELSE $7 END,
       CASE WHEN i % 100 = 0 THEN 'SCHEDULED' WHEN i % 100 = 1 THEN 'RUNNING' WHEN i % 50 = 3 THEN 'FAILED' ELSE 'COMPLETED' END,
       'x', now(), '{"day":"2026-03-10"}', '{}', '{"image":"python:3.12"}', '[]', now() - i * interval '1 second', now()
     FROM generate_series(1, $8::int) AS i`,
    [ws.id, push.id, push.name, managed.id, managed.name, push.type, managed.type, n],
  );
}

// --- the suite

/** The suite on the targets `makeTarget` makes, of `kind` (which decides the PostgreSQL-only cases). */
export function storeSuite(kind: StoreKind, makeTarget: () => Target): void {
  let target: Target;
  let store: Store;

  beforeAll(async () => {
    target = makeTarget();
    store = await target.fresh();
  });
  afterAll(async () => {
    await target?.dispose();
  });

  describe("migrations", () => {
    it("apply once, and running them again changes nothing", async () => {
      const driver = await (await target.rawDatabase()).driver();
      expect(await migrate(driver)).toEqual({ applied: MIGRATIONS.map((m) => m.id) });
      const before = await driver.query<{ id: number; applied_at: Date }>("SELECT id, applied_at FROM ferry_migrations ORDER BY id");
      expect(await migrate(driver)).toEqual({ applied: [] });
      const after = await driver.query<{ id: number; applied_at: Date }>("SELECT id, applied_at FROM ferry_migrations ORDER BY id");
      expect(after.rows).toEqual(before.rows);
      expect(after.rows.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
    });

    it("roll a failing migration back entirely and keep the earlier ones", async () => {
      const driver = await (await target.rawDatabase()).driver();
      const broken = [...MIGRATIONS, { id: MIGRATIONS.length + 1, name: "broken", sql: "CREATE TABLE half_done (x int); SELECT no_such_column FROM half_done;" }];
      await expect(migrate(driver, broken)).rejects.toThrow(/no_such_column/);
      const { rows } = await driver.query<{ half: boolean; n: number }>(
        "SELECT to_regclass('half_done') IS NOT NULL AS half, (SELECT count(*)::int FROM ferry_migrations) AS n",
      );
      expect(rows[0]).toEqual({ half: false, n: MIGRATIONS.length });
    });

    it("refuse a database migrated by a newer version", async () => {
      const driver = await (await target.rawDatabase()).driver();
      await migrate(driver, [...MIGRATIONS, { id: MIGRATIONS.length + 1, name: "from the future", sql: "SELECT 1" }]);
      const error = await rejection(migrate(driver));
      expect(error.message).toMatch(/newer version; upgrade this server/);
    });

    // PGlite has one connection: several processes migrating at once exist on PostgreSQL only.
    if (kind === "postgres") it("are applied exactly once when several processes migrate at once", async () => {
      const db = await target.rawDatabase();
      const drivers = await Promise.all([1, 2, 3, 4].map(() => db.driver()));
      const results = await Promise.all(drivers.map((d) => migrate(d)));
      expect(results.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.id));
      const { rows } = await drivers[0]!.query<{ n: number }>("SELECT count(*)::int AS n FROM ferry_migrations");
      expect(rows[0]!.n).toBe(MIGRATIONS.length);
    });
  });

  describe("workspaces and API keys", () => {
    it("creates, reads, lists, updates and counts workspaces", async () => {
      const s = await target.fresh();
      expect(await s.countWorkspaces()).toBe(0);
      const a = await s.createWorkspace({ id: newId(), name: "acme", tier: "free", limits_override: {} });
      const b = await s.createWorkspace({ id: newId(), name: "globex", tier: "pro", limits_override: { concurrent_managed_runs: 3 } });
      expect(a).toMatchObject({ name: "acme", tier: "free", limits_override: {} });
      expect(a.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(await s.getWorkspace(b.id)).toEqual(b);
      expect(await s.getWorkspace(newId())).toBeNull();
      expect(await s.getWorkspace("not-a-uuid")).toBeNull();
      expect((await s.listWorkspaces()).map((w) => w.id).sort()).toEqual([a.id, b.id].sort());
      expect(await s.countWorkspaces()).toBe(2);

      const updated = await s.updateWorkspace(a.id, { tier: "pro" });
      expect(updated).toMatchObject({ id: a.id, tier: "pro", limits_override: {} });
      const overridden = await s.updateWorkspace(a.id, { limits_override: { managed_pools: 4 } });
      expect(overridden).toMatchObject({ tier: "pro", limits_override: { managed_pools: 4 } });
      expect(await s.updateWorkspace(newId(), { tier: "pro" })).toBeNull();
    });

    it("stores API keys by hash and finds the key with its workspace", async () => {
      const ws = await workspace(store);
      const key = await store.insertApiKey({ id: newId(), workspace_id: ws.id, name: "ci", prefix: "fy_abc", hash: "a".repeat(64) });
      expect(key).toMatchObject({ workspace_id: ws.id, name: "ci", prefix: "fy_abc", last_used_at: null });
      expect(key).not.toHaveProperty("hash");
      expect(await store.findApiKeyByHash("a".repeat(64))).toEqual({ key, workspace: ws });
      expect(await store.findApiKeyByHash("b".repeat(64))).toBeNull();
      expect(await store.listApiKeys(ws.id)).toEqual([key]);

      await store.touchApiKey(key.id, at(60));
      await store.touchApiKey(key.id, at(30)); // an older touch does not move it back
      expect((await store.listApiKeys(ws.id))[0]!.last_used_at).toBe(at(60));

      expect(await store.deleteApiKey(ws.id, key.id)).toBe(true);
      expect(await store.deleteApiKey(ws.id, key.id)).toBe(false);
      expect(await store.findApiKeyByHash("a".repeat(64))).toBeNull();
    });
  });

  describe("work pools, credentials and deployments", () => {
    it("creates, updates and deletes work pools", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      expect(p).toMatchObject({ workspace_id: ws.id, name: "push", type: "fake:push", paused: false, concurrency_limit: null, description: null });
      expect(p.base_job_template).toEqual({ variables: { type: "object", properties: {} }, job_configuration: { image: "{{ image }}" } });
      expect(await store.getWorkPool(ws.id, "push")).toEqual(p);
      expect(await store.getWorkPoolById(ws.id, p.id)).toEqual(p);
      await pool(store, ws, "another");
      expect((await store.listWorkPools(ws.id)).map((x) => x.name)).toEqual(["another", "push"]);

      const updated = await store.updateWorkPool(ws.id, "push", { paused: true, concurrency_limit: 3, description: "main", credentials: "acme-keys" });
      expect(updated).toMatchObject({ paused: true, concurrency_limit: 3, description: "main", credentials: "acme-keys", created_at: p.created_at });
      const cleared = await store.updateWorkPool(ws.id, "push", { description: null, concurrency_limit: null });
      expect(cleared).toMatchObject({ paused: true, concurrency_limit: null, description: null, credentials: "acme-keys" });
      expect(await store.updateWorkPool(ws.id, "missing", { paused: true })).toBeNull();

      expect(await store.deleteWorkPool(ws.id, "push")).toBe(true);
      expect(await store.deleteWorkPool(ws.id, "push")).toBe(false);
      expect(await store.getWorkPool(ws.id, "push")).toBeNull();
    });

    it("refuses to delete a pool that deployments use, naming the fix; a deleted deployment keeps its runs", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "busy");
      const d = await deployment(store, ws, p, "nightly");
      const run = await store.insertFlowRun(runInput(ws, d, p));

      const error = await rejection(store.deleteWorkPool(ws.id, "busy"));
      expect(error.code).toBe("conflict");
      expect(error.message).toMatch(/work pool 'busy' is used by 1 deployment; delete them/);
      expect(await store.getWorkPool(ws.id, "busy")).not.toBeNull();

      expect(await store.deleteDeployment(ws.id, d.id)).toBe(true);
      expect(await store.getFlowRun(ws.id, run.id)).toMatchObject({ id: run.id, deployment_id: d.id, deployment_name: "nightly" });
      expect(await store.deleteWorkPool(ws.id, "busy")).toBe(true);
      expect(await store.getFlowRun(ws.id, run.id)).toMatchObject({ id: run.id, work_pool_id: p.id, work_pool: "busy" });
    });

    it("keeps credentials, replaces them in place and reports who uses them", async () => {
      const ws = await workspace(store);
      const c = await store.insertCredentials({
        id: newId(),
        workspace_id: ws.id,
        name: "acme-keys",
        type: "keypair",
        plain_data: { region: "eu-west-1" },
        secret_ciphertext: "v1:abc",
      });
      expect(c).toMatchObject({ name: "acme-keys", type: "keypair", plain_data: { region: "eu-west-1" }, secret_ciphertext: "v1:abc" });
      expect(await store.getCredentials(ws.id, "acme-keys")).toEqual(c);

      const replaced = await store.replaceCredentials(ws.id, "acme-keys", { type: "keypair", plain_data: { region: "us-east-1" }, secret_ciphertext: "v1:def" });
      expect(replaced).toMatchObject({ id: c.id, created_at: c.created_at, plain_data: { region: "us-east-1" }, secret_ciphertext: "v1:def" });
      expect(await store.replaceCredentials(ws.id, "nope", { type: "keypair", plain_data: {}, secret_ciphertext: "" })).toBeNull();

      const p = await pool(store, ws, "acme", "acme:push");
      await store.updateWorkPool(ws.id, "acme", { credentials: "acme-keys" });
      await pool(store, ws, "other");
      const d = deploymentInput(ws, p, "private");
      d.source = { git_url: "https://github.com/acme/private.git", credentials: "acme-keys" };
      await store.insertDeployment(d);
      await deployment(store, ws, p, "public");
      expect(await store.credentialsUsage(ws.id, "acme-keys")).toEqual({ work_pools: ["acme"], deployments: ["etl/private"] });
      expect(await store.credentialsUsage(ws.id, "unused")).toEqual({ work_pools: [], deployments: [] });

      expect((await store.listCredentials(ws.id)).map((x) => x.name)).toEqual(["acme-keys"]);
      expect(await store.deleteCredentials(ws.id, "acme-keys")).toBe(true);
      expect(await store.deleteCredentials(ws.id, "acme-keys")).toBe(false);
      expect(await store.getCredentials(ws.id, "acme-keys")).toBeNull();
    });

    it("creates, finds, updates, lists and deletes deployments", async () => {
      const ws = await workspace(store);
      const p1 = await pool(store, ws, "p1");
      const p2 = await pool(store, ws, "p2");
      const input = deploymentInput(ws, p1, "nightly");
      const d = await store.insertDeployment(input);
      expect(d).toMatchObject({ ...input, work_pool: "p1" });
      expect(await store.getDeployment(ws.id, d.id)).toEqual(d);
      expect(await store.getDeploymentByName(ws.id, "etl", "nightly")).toEqual(d);
      expect(await store.getDeploymentByName(ws.id, "other-flow", "nightly")).toBeNull();

      const other = await deployment(store, ws, p2, "hourly", "report");
      expect((await store.listDeployments(ws.id, {})).map((x) => x.id)).toEqual([d.id, other.id]);
      expect((await store.listDeployments(ws.id, { work_pool: "p2" })).map((x) => x.id)).toEqual([other.id]);
      expect((await store.listDeployments(ws.id, { flow_name: "etl" })).map((x) => x.id)).toEqual([d.id]);
      expect((await store.listDeployments(ws.id, { flow_name: "etl", name: "hourly" })).map((x) => x.id)).toEqual([]);
      expect(await store.listDeployments(ws.id, { work_pool: "p1" })).toHaveLength(1);

      const { id: _id, workspace_id: _ws, created_at: _c, updated_at: _u, ...fields } = d;
      const moved = await store.updateDeployment(ws.id, d.id, { ...fields, work_pool_id: p2.id, work_pool: "p2", tags: [], pull_steps: null, paused: true });
      expect(moved).toMatchObject({ id: d.id, work_pool: "p2", work_pool_id: p2.id, tags: [], pull_steps: null, paused: true, created_at: d.created_at });
      expect(await store.listDeployments(ws.id, { work_pool: "p1" })).toHaveLength(0);
      expect(await store.listDeployments(ws.id, { work_pool: "p2" })).toHaveLength(2);
      expect(await store.updateDeployment(ws.id, newId(), fields)).toBeNull();

      expect(await store.deleteDeployment(ws.id, d.id)).toBe(true);
      expect(await store.getDeployment(ws.id, d.id)).toBeNull();
      expect(await store.deleteDeployment(ws.id, d.id)).toBe(false);
    });

    it("refuses a deployment on another workspace's pool with a clear error, not a raw one", async () => {
      const mine = await workspace(store);
      const theirs = await workspace(store, "theirs");
      const theirPool = await pool(store, theirs, "their-pool");
      const error = await rejection(store.insertDeployment(deploymentInput(mine, theirPool, "sneaky")));
      expect(error.code).toBe("not_found");
      expect(error.message).toMatch(/work pool does not exist in this workspace/);
      expect(error.cause).toBeDefined();
    });
  });

  describe("unique names", () => {
    it("turn a second object with the same name into a 'conflict' that names it", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "dup");
      const samePool = await rejection(pool(store, ws, "dup"));
      expect(samePool.code).toBe("conflict");
      expect(samePool.message).toMatch(/work pool 'dup' already exists/);

      const creds = { id: newId(), workspace_id: ws.id, name: "gh", type: "git", plain_data: {}, secret_ciphertext: "x" };
      await store.insertCredentials(creds);
      const sameCreds = await rejection(store.insertCredentials({ ...creds, id: newId() }));
      expect(sameCreds.code).toBe("conflict");
      expect(sameCreds.message).toMatch(/credentials 'gh' already exists/);

      const d = await deployment(store, ws, p, "nightly");
      const sameDeployment = await rejection(deployment(store, ws, p, "nightly"));
      expect(sameDeployment.code).toBe("conflict");
      expect(sameDeployment.message).toMatch(/deployment 'etl\/nightly' already exists/);
      const other = await deployment(store, ws, p, "hourly");
      const { id: _i, workspace_id: _w, created_at: _c, updated_at: _u, ...fields } = other;
      const rename = await rejection(store.updateDeployment(ws.id, other.id, { ...fields, name: "nightly" }));
      expect(rename.code).toBe("conflict");
      expect((await store.getDeployment(ws.id, other.id))!.name).toBe("hourly");

      await store.insertApiKey({ id: newId(), workspace_id: ws.id, name: "k", prefix: "fy_1", hash: "h".repeat(64) });
      const sameHash = await rejection(store.insertApiKey({ id: newId(), workspace_id: ws.id, name: "k2", prefix: "fy_2", hash: "h".repeat(64) }));
      expect(sameHash.code).toBe("conflict");
      expect(sameHash.message).toMatch(/API key with this hash already exists/);

      const sameWorkspace = await rejection(store.createWorkspace({ id: ws.id, name: "again", tier: "free", limits_override: {} }));
      expect(sameWorkspace.code).toBe("conflict");

      const run = await store.insertFlowRun(runInput(ws, d, p));
      const sameRun = await rejection(store.insertFlowRun(runInput(ws, d, p, { id: run.id })));
      expect(sameRun.code).toBe("conflict");
      expect(sameRun.message).toMatch(/flow run with this id already exists/);

      // The same names in another workspace are fine.
      const ws2 = await workspace(store, "other");
      const p2 = await pool(store, ws2, "dup");
      await deployment(store, ws2, p2, "nightly");
    });

    it("leave the caller's transaction usable after a name conflict", async () => {
      const ws = await workspace(store);
      await pool(store, ws, "taken");
      const created = await store.transaction(async (tx) => {
        const e = await rejection(pool(tx, ws, "taken"));
        expect(e.code).toBe("conflict");
        return pool(tx, ws, "free-name");
      });
      expect(await store.getWorkPool(ws.id, "free-name")).toEqual(created);
    });
  });

  describe("workspace isolation", () => {
    it("hides every object of another workspace from every workspace-scoped method", async () => {
      const a = await workspace(store, "a");
      const b = await workspace(store, "b");
      const key = await store.insertApiKey({ id: newId(), workspace_id: a.id, name: "k", prefix: "fy_a", hash: newId() });
      const p = await pool(store, a, "pool-a");
      await store.insertCredentials({ id: newId(), workspace_id: a.id, name: "creds-a", type: "git", plain_data: {}, secret_ciphertext: "x" });
      await store.updateWorkPool(a.id, "pool-a", { credentials: "creds-a" });
      const d = await deployment(store, a, p, "dep-a");
      const run = await store.insertFlowRun(runInput(a, d, p, { key: "key-a" }));
      await store.insertLogs(a.id, run.id, [{ level: "info", message: "hello", timestamp: at(1), source: "flow" }]);

      expect(await store.listApiKeys(b.id)).toEqual([]);
      expect(await store.deleteApiKey(b.id, key.id)).toBe(false);
      expect(await store.getWorkPool(b.id, "pool-a")).toBeNull();
      expect(await store.getWorkPoolById(b.id, p.id)).toBeNull();
      expect(await store.listWorkPools(b.id)).toEqual([]);
      expect(await store.updateWorkPool(b.id, "pool-a", { paused: true })).toBeNull();
      expect(await store.deleteWorkPool(b.id, "pool-a")).toBe(false);
      expect(await store.getCredentials(b.id, "creds-a")).toBeNull();
      expect(await store.listCredentials(b.id)).toEqual([]);
      expect(await store.replaceCredentials(b.id, "creds-a", { type: "git", plain_data: {}, secret_ciphertext: "y" })).toBeNull();
      expect(await store.credentialsUsage(b.id, "creds-a")).toEqual({ work_pools: [], deployments: [] });
      expect(await store.deleteCredentials(b.id, "creds-a")).toBe(false);
      expect(await store.getDeployment(b.id, d.id)).toBeNull();
      expect(await store.getDeploymentByName(b.id, "etl", "dep-a")).toBeNull();
      expect(await store.listDeployments(b.id, {})).toEqual([]);
      const { id: _i, workspace_id: _w, created_at: _c, updated_at: _u, ...fields } = d;
      expect(await store.updateDeployment(b.id, d.id, { ...fields, description: "hijacked" })).toBeNull();
      expect(await store.listDeployments(b.id, { work_pool: p.name })).toEqual([]);
      expect(await store.deleteDeployment(b.id, d.id)).toBe(false);
      expect(await store.getFlowRun(b.id, run.id)).toBeNull();
      expect(await store.listFlowRuns(b.id, {}, { limit: 10 })).toEqual([]);
      expect(await store.getFlowRunHistory(b.id, run.id)).toEqual([]);
      expect(await store.findFlowRunByIdempotencyKey(b.id, "key-a")).toBeNull();
      expect(await store.insertLogs(b.id, run.id, [{ level: "info", message: "injected", timestamp: at(2), source: "flow" }])).toEqual([]);
      expect(await store.managedUsage(b.id, at(-86400))).toEqual({ managed_pools: 0, concurrent_managed_runs: 0, queued_managed_runs: 0, compute_seconds: 0 });

      // Nothing of a's changed through b.
      expect(await store.listApiKeys(a.id)).toEqual([key]);
      expect((await store.getWorkPool(a.id, "pool-a"))!.paused).toBe(false);
      expect((await store.getCredentials(a.id, "creds-a"))!.secret_ciphertext).toBe("x");
      expect((await store.getDeployment(a.id, d.id))!.description).toBe("nightly load");
      expect((await store.listLogs(run.id, { limit: 10 })).map((l) => l.message)).toEqual(["hello"]);
    });
  });

  describe("transactions", () => {
    it("leave nothing behind when the callback throws, and rethrow the caller's own error", async () => {
      const ws = await workspace(store);
      const ids: { pool?: string; run?: string; ws2?: string } = {};
      const boom = new Error("boom");
      const thrown = await store
        .transaction(async (tx) => {
          const p = await pool(tx, ws, "doomed");
          const d = await deployment(tx, ws, p, "doomed");
          ids.pool = p.id;
          ids.run = (await tx.insertFlowRun(runInput(ws, d, p))).id;
          ids.ws2 = (await workspace(tx, "doomed")).id;
          await tx.insertLogs(ws.id, ids.run, [{ level: "info", message: "x", timestamp: at(0), source: "flow" }]);
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(thrown).toBe(boom);
      expect(await store.getWorkPool(ws.id, "doomed")).toBeNull();
      expect(await store.getFlowRunForSystem(ids.run!)).toBeNull();
      expect(await store.getWorkspace(ids.ws2!)).toBeNull();
      expect(await store.listLogs(ids.run!, { limit: 10 })).toEqual([]);
    });

    it("commit every write of a callback that returns", async () => {
      const ws = await workspace(store);
      const result = await store.transaction(async (tx) => {
        const p = await pool(tx, ws, "kept");
        return (await deployment(tx, ws, p, "kept")).id;
      });
      expect(await store.getDeployment(ws.id, result)).toMatchObject({ name: "kept", work_pool: "kept" });
    });

    it("fail, rather than pretend to commit, when the callback swallowed a database error", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const existing = await store.insertFlowRun(runInput(ws, d, p));
      const extra = runInput(ws, d, p);
      const error = await rejection(
        store.transaction(async (tx) => {
          await tx.insertFlowRun(extra);
          await tx.insertFlowRun(runInput(ws, d, p, { id: existing.id })).catch(() => undefined);
          return "done";
        }),
      );
      expect(error.code).toBe("internal");
      expect(error.message).toMatch(/rolled back instead of committed/);
      expect(await store.getFlowRun(ws.id, extra.id)).toBeNull();
    });

    it("refuse the store itself inside a transaction instead of deadlocking or escaping the transaction", async () => {
      const ws = await workspace(store);
      const error = await rejection(store.transaction(async () => store.getWorkspace(ws.id)));
      expect(error.code).toBe("internal");
      expect(error.message).toMatch(/call it on the tx passed to the callback/);
      const nested = await rejection(store.transaction(async () => store.transaction(async () => 1)));
      expect(nested.message).toMatch(/inside store.transaction/);
      // The store works normally afterwards.
      expect(await store.getWorkspace(ws.id)).toEqual(ws);
    });

    it("refuse lock methods outside a transaction, where the lock would end at once", async () => {
      const ws = await workspace(store);
      expect((await rejection(store.lockWorkspace(ws.id))).message).toMatch(/lockWorkspace .* inside store.transaction/);
      expect((await rejection(store.lockIdempotencyKey(ws.id, "k"))).code).toBe("internal");
    });

    it("keep uncommitted writes invisible to a query issued outside while the transaction is open", async () => {
      const ws = await workspace(store);
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      let wrote!: () => void;
      const written = new Promise<void>((resolve) => (wrote = resolve));
      const newWs = newId();
      const tx = store
        .transaction(async (t) => {
          await t.createWorkspace({ id: newWs, name: "pending", tier: "free", limits_override: {} });
          wrote();
          await hold;
          throw new Error("roll back");
        })
        .catch(() => "rolled back");
      await written;
      // PGlite: waits for the transaction (one connection); PostgreSQL: reads committed data at once.
      // Either way the row that is never committed must not be seen.
      const outside = store.getWorkspace(newWs);
      await sleep(50);
      release();
      expect(await outside).toBeNull();
      expect(await tx).toBe("rolled back");
      expect(await store.getWorkspace(ws.id)).toEqual(ws);
    });

    it("lockWorkspace serialises count-then-insert so two creators cannot both pass a limit of 1", async () => {
      const ws = await workspace(store);
      const attempt = (name: string, lock: boolean, peers: Barrier) =>
        store.transaction(async (tx) => {
          if (lock) await tx.lockWorkspace(ws.id);
          const usage = await tx.managedUsage(ws.id, at(0));
          // Give the other transaction every chance to count too before either inserts.
          await peers.arriveAndWait(300);
          if (usage.managed_pools >= 1) return false;
          await pool(tx, ws, name, MANAGED_POOL_TYPE);
          return true;
        });

      const locked = new Barrier(2);
      const results = await Promise.all([attempt("m1", true, locked), attempt("m2", true, locked)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.managedUsage(ws.id, at(0))).managed_pools).toBe(1);

      if (target.kind === "postgres") {
        // The control: the same race without the lock lets both through, so the test above can fail.
        const ws2 = await workspace(store, "control");
        const unlocked = new Barrier(2);
        const attemptIn = (name: string) =>
          store.transaction(async (tx) => {
            const usage = await tx.managedUsage(ws2.id, at(0));
            await unlocked.arriveAndWait(2000);
            if (usage.managed_pools >= 1) return false;
            await pool(tx, ws2, name, MANAGED_POOL_TYPE);
            return true;
          });
        expect(await Promise.all([attemptIn("m1"), attemptIn("m2")])).toEqual([true, true]);
      }
    });
  });

  describe("schedules", () => {
    const scheduled = (ws: WorkspaceRecord, d: DeploymentRecord, p: WorkPoolRecord, when: string, key = `scheduled:${d.id}:${when}`): NewFlowRun => ({
      ...runInput(ws, d, p, { createdAt: at(0), key }),
      expected_start_time: when,
    });

    it("keeps one run per schedule time (its idempotency key), leaves the rest out, and keeps runs asked for a taken time", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "sched");
      const d = await deployment(store, ws, p, "hourly");
      const other = await deployment(store, ws, p, "daily");
      expect(await store.insertFlowRuns([scheduled(ws, d, p, at(3600)), scheduled(ws, d, p, at(7200))])).toBe(2);
      // Again (another server's pass): nothing new; another deployment's run at the same time is its own.
      expect(await store.insertFlowRuns([scheduled(ws, d, p, at(3600)), scheduled(ws, d, p, at(7200)), scheduled(ws, other, p, at(3600))])).toBe(1);
      // Two passes at once, each in its own transaction: one run at that time.
      const both = await Promise.all([0, 1].map(() => store.transaction((tx) => tx.insertFlowRuns([scheduled(ws, d, p, at(10_800))]))));
      expect(both.sort()).toEqual([0, 1]);
      // Runs asked for a time a schedule has, or for the same time twice (other keys, or none): all kept.
      expect(await store.insertFlowRuns([scheduled(ws, d, p, at(3600), "asked-1"), scheduled(ws, d, p, at(3600), "asked-2")])).toBe(2);
      await store.insertFlowRun({ ...runInput(ws, d, p, { createdAt: at(0) }), expected_start_time: at(3600) });
      const runs = await store.listFlowRuns(ws.id, { deployment_id: d.id }, { limit: 100 });
      expect(runs.map((r) => r.expected_start_time).sort()).toEqual([at(3600), at(3600), at(3600), at(3600), at(7200), at(10_800)]);
    });

    it("queues a scheduled run only once due, oldest expected start first", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "due");
      const d = await deployment(store, ws, p, "due");
      await store.insertFlowRuns([scheduled(ws, d, p, at(120)), scheduled(ws, d, p, at(60))]);
      const manual = await store.insertFlowRun(runInput(ws, d, p, { createdAt: at(90) }));
      const due = (t: number) => store.listQueuedFlowRuns({ pool_kind: "push", work_pool_id: p.id, limit: 10, due_at: at(t) });
      // A run without an expected start is always due.
      expect((await due(30)).map((r) => r.id)).toEqual([manual.id]);
      expect((await due(100)).map((r) => r.expected_start_time ?? r.id)).toEqual([at(60), manual.id]);
      expect(await due(120)).toHaveLength(3);
    });

    it("deletes the scheduled runs due later that have not started, and leaves started ones and earlier ones", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "del");
      const d = await deployment(store, ws, p, "del");
      await store.insertFlowRuns([scheduled(ws, d, p, at(60)), scheduled(ws, d, p, at(120)), scheduled(ws, d, p, at(180))]);
      const [started] = (await store.listFlowRuns(ws.id, { deployment_id: d.id }, { limit: 10 })).filter((r) => r.expected_start_time === at(180));
      await store.setFlowRunState(started!.id, { ...stateChange("PENDING"), timestamp: at(170) });
      // A run someone asked for a later time is not the scheduler's: it stays.
      const asked = await store.insertFlowRun({ ...runInput(ws, d, p, { createdAt: at(0), key: "asked-for-120" }), expected_start_time: at(120) });
      const deleted = await store.deleteScheduledFlowRuns(d.id, at(90));
      expect(deleted).toHaveLength(1);
      expect(deleted).not.toContain(asked.id);
      const left = await store.listFlowRuns(ws.id, { deployment_id: d.id }, { limit: 10 });
      expect(left.map((r) => r.expected_start_time).sort()).toEqual([at(60), at(120), at(180)]);
    });

    it("lists the deployments with schedules, locks one and records when it was scheduled", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "list");
      const plain = await deployment(store, ws, p, "plain");
      const withSchedule = await store.insertDeployment({
        ...deploymentInput(ws, p, "cron"),
        schedules: [{ id: newId(), active: true, cron: "0 9 * * *", timezone: "Europe/Berlin" }],
        concurrency_limit: 2,
        collision_strategy: "cancel_new",
      });
      const listed = (await store.listScheduledDeployments({ limit: 1000 })).map((r) => r.id);
      expect(listed).toContain(withSchedule.id);
      expect(listed).not.toContain(plain.id);
      await store.transaction(async (tx) => {
        const found = await tx.lockDeploymentForScheduling(ws.id, withSchedule.id);
        expect(found?.deployment).toMatchObject({ schedules: withSchedule.schedules, schedules_checked_at: null, collision_strategy: "cancel_new" });
        await tx.setSchedulesCheckedAt(withSchedule.id, at(5));
      });
      expect((await store.getDeployment(ws.id, withSchedule.id))?.schedules_checked_at).toBe(at(5));
      const concurrency = await store.deploymentConcurrency(ws.id, [withSchedule.id, plain.id]);
      expect([...concurrency]).toEqual([[withSchedule.id, { name: "etl/cron", concurrency_limit: 2, collision_strategy: "cancel_new", active: 0 }]]);
    });

    it("finds the runs past their deployment's grace that are not Late yet", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "late");
      const d = await deployment(store, ws, p, "late");
      await store.insertFlowRuns([scheduled(ws, d, p, at(0)), scheduled(ws, d, p, at(1000))]);
      const late = (await store.listLateFlowRuns(at(61), 1000)).filter((r) => r.deployment_id === d.id);
      expect(late.map((r) => r.expected_start_time)).toEqual([at(0)]);
      await store.compareAndSetFlowRunState(late[0]!.id, late[0]!.state, { ...stateChange("SCHEDULED", { name: "Late" }), timestamp: at(61) });
      expect((await store.listLateFlowRuns(at(61), 1000)).filter((r) => r.deployment_id === d.id)).toEqual([]);
    });
  });

  describe("flow runs", () => {
    it("inserts a run with its first history entry and reads it back exactly", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const input = runInput(ws, d, p, { createdAt: at(5) });
      const run = await store.insertFlowRun(input);
      expect(run).toEqual({
        id: input.id,
        workspace_id: ws.id,
        name: "nightly-run",
        deployment_id: d.id,
        deployment_name: "nightly",
        flow_name: "etl",
        work_pool_id: p.id,
        work_pool: "push",
        work_pool_type: "fake:push",
        state: { type: "SCHEDULED", name: "Scheduled", message: null, timestamp: at(5) },
        parameters: { day: "2026-03-10", n: 3 },
        job_variables: { image: "python:3.12" },
        job_configuration: { image: "python:3.12" },
        infrastructure_id: null,
        idempotency_key: null,
        tags: ["nightly", "etl"],
        created_at: at(5),
        updated_at: at(5),
        expected_start_time: null,
        start_time: null,
        end_time: null,
        compute_seconds: 0,
        ...NEW_RUN_RETRY_FIELDS,
        result: null,
      });
      expect(await store.getFlowRun(ws.id, run.id)).toEqual(run);
      expect(await store.getFlowRunForSystem(run.id)).toEqual(run);
      const history = await store.getFlowRunHistory(ws.id, run.id);
      expect(history).toEqual([{ id: expect.stringMatching(/^\d+$/), type: "SCHEDULED", name: "Scheduled", message: null, timestamp: at(5) }]);
    });

    it("inserts many runs in one call, each as insertFlowRun would, leaving out a taken idempotency key", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const taken = await store.insertFlowRun(runInput(ws, d, p, { key: "order-7", createdAt: at(0) }));
      const plain = runInput(ws, d, p, { createdAt: at(1) });
      const failed: NewFlowRun = {
        ...runInput(ws, d, p, { createdAt: at(2) }),
        job_configuration: null,
        prior_states: [stateChange("SCHEDULED"), stateChange("PENDING"), stateChange("RUNNING")],
        state: stateChange("FAILED", { message: "flow raised 'ValueError'" }),
      };
      const duplicate = runInput(ws, d, p, { key: "order-7", createdAt: at(3) });
      expect(await store.insertFlowRuns([])).toBe(0);
      expect(await store.insertFlowRuns([plain, failed, duplicate])).toBe(2);

      // The same record insertFlowRun returns for the same input, read back.
      const expected = ({ prior_states: _states, ...input }: NewFlowRun) => ({
        ...input,
        state: { ...input.state, timestamp: input.created_at },
        infrastructure_id: null,
        updated_at: input.created_at,
        expected_start_time: null,
        start_time: null,
        end_time: null,
        compute_seconds: 0,
        ...NEW_RUN_RETRY_FIELDS,
        result: null,
      });
      expect(await store.getFlowRun(ws.id, plain.id)).toEqual(expected(plain));
      expect(await store.getFlowRun(ws.id, failed.id)).toEqual(expected(failed));
      expect(await store.getFlowRun(ws.id, duplicate.id)).toBeNull();
      expect(await store.getFlowRun(ws.id, taken.id)).toEqual(taken);
      const history = await store.getFlowRunHistory(ws.id, failed.id);
      expect(history.map((h) => [h.type, h.message, h.timestamp])).toEqual([
        ["SCHEDULED", null, at(2)],
        ["PENDING", null, at(2)],
        ["RUNNING", null, at(2)],
        ["FAILED", "flow raised 'ValueError'", at(2)],
      ]);
      expect((await store.getFlowRunHistory(ws.id, plain.id)).map((h) => h.type)).toEqual(["SCHEDULED"]);
      const listed = await store.listFlowRuns(ws.id, { states: ["FAILED"] }, { limit: 10 });
      expect(listed.map((r) => r.id)).toEqual([failed.id]);
      await expect(store.insertFlowRuns([{ ...plain, id: "not-a-uuid" }])).rejects.toMatchObject({ code: "validation_failed" });
    });

    it("lists runs whose id starts with a prefix, and runs by name", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const ids = ["0195aaaa-0000-7000-8000-000000000001", "0195aaaa-0000-7000-8000-000000000002", "0195abcd-0000-7000-8000-000000000003"];
      for (const [i, id] of ids.entries()) await store.insertFlowRun({ ...runInput(ws, d, p, { id, createdAt: at(i) }), name: `run-${i}` });
      const listed = async (filter: Parameters<Store["listFlowRuns"]>[1]) => (await store.listFlowRuns(ws.id, filter, { limit: 10 })).map((r) => r.id);
      expect(await listed({ id_prefix: "0195" })).toEqual([...ids].reverse());
      expect(await listed({ id_prefix: "0195aaaa" })).toEqual([ids[1], ids[0]]);
      // Dashes may be left out or put where the id has them; the bounds are inclusive.
      expect(await listed({ id_prefix: "0195aaaa0000700080000000000000" })).toEqual([ids[1], ids[0]]);
      expect(await listed({ id_prefix: "0195abcd-0000-7000-8000-000000000003" })).toEqual([ids[2]]);
      expect(await listed({ id_prefix: "0195ab" })).toEqual([ids[2]]);
      expect(await listed({ id_prefix: "ffff" })).toEqual([]);
      expect(await listed({ name: "run-1" })).toEqual([ids[1]]);
      expect(await listed({ name: "run-1", id_prefix: "0195ab" })).toEqual([]);
      expect(await store.totalFlowRuns(ws.id, { id_prefix: "0195aa" })).toEqual({ total: 2, total_is_estimate: false });
      await expect(store.listFlowRuns(ws.id, { id_prefix: "zz" }, { limit: 10 })).rejects.toMatchObject({ code: "validation_failed" });
    });

    it("sets states with fields, appending history in order, and updates fields alone", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const run = await store.insertFlowRun(runInput(ws, d, p, { createdAt: at(0) }));

      const pending = await store.setFlowRunState(run.id, { ...stateChange("PENDING", { name: "Submitting" }), timestamp: at(1) }, { job_configuration: { image: "x" } });
      expect(pending.run.state).toEqual({ type: "PENDING", name: "Submitting", message: null, timestamp: at(1) });
      expect(pending.run.job_configuration).toEqual({ image: "x" });
      expect(pending.entry).toEqual({ id: expect.stringMatching(/^\d+$/), type: "PENDING", name: "Submitting", message: null, timestamp: at(1) });

      const running = await store.setFlowRunState(run.id, { ...stateChange("RUNNING"), timestamp: at(2) }, { start_time: at(2), infrastructure_id: "task/1" });
      expect(running.run).toMatchObject({ start_time: at(2), infrastructure_id: "task/1", end_time: null });
      const done = await store.setFlowRunState(
        run.id,
        { ...stateChange("COMPLETED", { message: "all good" }), timestamp: at(12) },
        { end_time: at(12), compute_seconds: 10.5 },
      );
      expect(done.run).toMatchObject({ state: { type: "COMPLETED", message: "all good" }, end_time: at(12), compute_seconds: 10.5, start_time: at(2) });

      const history = await store.getFlowRunHistory(ws.id, run.id);
      expect(history.map((h) => h.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]);
      expect(history.map((h) => h.id)).toEqual([...history.map((h) => h.id)].sort((x, y) => Number(BigInt(x) - BigInt(y))));
      expect(history[3]!.id).toBe(done.entry.id);

      const updated = await store.updateFlowRun(run.id, { infrastructure_id: null, job_configuration: null });
      expect(updated).toMatchObject({ infrastructure_id: null, job_configuration: null, state: { type: "COMPLETED" }, compute_seconds: 10.5 });
      expect(await store.updateFlowRun(newId(), { compute_seconds: 1 })).toBeNull();

      const missing = await rejection(store.setFlowRunState(newId(), { ...stateChange("RUNNING"), timestamp: at(1) }));
      expect(missing.code).toBe("not_found");
    });

    it("inserts a run already past earlier states, with a history entry for each, in order", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const input = {
        ...runInput(ws, d, p, { createdAt: at(0) }),
        prior_states: [stateChange("SCHEDULED")],
        state: stateChange("PENDING", { name: "Submitting", message: "submitting to fake:push" }),
      };
      const run = await store.insertFlowRun(input);
      expect(run.state).toEqual({ type: "PENDING", name: "Submitting", message: "submitting to fake:push", timestamp: at(0) });
      const history = await store.getFlowRunHistory(ws.id, run.id);
      expect(history.map((h) => [h.type, h.name, h.message])).toEqual([
        ["SCHEDULED", "Scheduled", null],
        ["PENDING", "Submitting", "submitting to fake:push"],
      ]);
      expect(BigInt(history[0]!.id) < BigInt(history[1]!.id)).toBe(true);
      expect(await store.getFlowRun(ws.id, run.id)).toEqual(run);
    });

    it("sets a state only from the expected one, so of two racing writers exactly one wins", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const run = await store.insertFlowRun(runInput(ws, d, p, { createdAt: at(0) }));
      const wrong = await store.compareAndSetFlowRunState(run.id, { type: "PENDING", name: "Pending" }, { ...stateChange("RUNNING"), timestamp: at(1) });
      expect(wrong).toBeNull();
      expect((await store.getFlowRun(ws.id, run.id))!.state.type).toBe("SCHEDULED");

      const racers = await Promise.all([
        store.compareAndSetFlowRunState(run.id, run.state, { ...stateChange("PENDING", { name: "Submitting" }), timestamp: at(2) }),
        store.compareAndSetFlowRunState(run.id, run.state, { ...stateChange("CANCELLED", { message: "by a user" }), timestamp: at(2) }, { end_time: at(2) }),
      ]);
      const winners = racers.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect((await store.getFlowRun(ws.id, run.id))!.state).toEqual(winner.run.state);
      const history = await store.getFlowRunHistory(ws.id, run.id);
      expect(history.map((h) => h.type)).toEqual(["SCHEDULED", winner.run.state.type]);
      expect(history[1]!.id).toBe(winner.entry.id);
      expect(await store.compareAndSetFlowRunState(newId(), run.state, { ...stateChange("PENDING"), timestamp: at(3) })).toBeNull();
    });

    it("reads a deployment with its pool, and counts a pool's runs holding a slot", async () => {
      const ws = await workspace(store);
      const other = await workspace(store, "other");
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      expect(await store.getDeploymentAndPool(ws.id, d.id)).toEqual({ deployment: d, pool: p });
      expect(await store.getDeploymentAndPool(other.id, d.id)).toBeNull();
      expect(await store.getDeploymentAndPool(ws.id, newId())).toBeNull();
      for (const type of ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "COMPLETED", "CRASHED"] as StateType[]) await runIn(store, ws, d, p, type);
      expect(await store.countActiveFlowRunsInPool(p.id)).toBe(3);
      expect(await store.countActiveFlowRunsInPool(newId())).toBe(0);
    });

    it("pages newest first, each matching run exactly once, with filters and ties on created_at", async () => {
      const ws = await workspace(store);
      const p1 = await pool(store, ws, "p1");
      const p2 = await pool(store, ws, "p2");
      const d1 = await deployment(store, ws, p1, "d1");
      const d2 = await deployment(store, ws, p2, "d2");
      const all: FlowRunRecord[] = [];
      const states: StateType[] = ["SCHEDULED", "RUNNING", "COMPLETED", "FAILED"];
      for (let i = 0; i < 30; i++) {
        // Three runs share each timestamp, so the id decides their order.
        const createdAt = at(Math.floor(i / 3));
        const [d, p] = i % 2 === 0 ? [d1, p1] : [d2, p2];
        all.push(await runIn(store, ws, d, p, states[i % states.length]!, createdAt));
      }
      const newestFirst = (runs: FlowRunRecord[]) =>
        [...runs].sort((x, y) => (x.created_at === y.created_at ? (x.id < y.id ? 1 : -1) : x.created_at < y.created_at ? 1 : -1));

      const pageThrough = async (filter: Parameters<Store["listFlowRuns"]>[1], limit: number) => {
        const seen: FlowRunRecord[] = [];
        let after: { created_at: string; id: string } | undefined;
        for (let guard = 0; guard < 100; guard++) {
          const page = await store.listFlowRuns(ws.id, filter, { limit, after });
          seen.push(...page);
          if (page.length < limit) return seen;
          const last = page[page.length - 1]!;
          after = { created_at: last.created_at, id: last.id };
        }
        throw new Error("pagination did not end");
      };

      const everything = await pageThrough({}, 4);
      expect(everything.map((r) => r.id)).toEqual(newestFirst(all).map((r) => r.id));
      expect(everything[0]).toEqual(newestFirst(all)[0]);

      const filtered = await pageThrough({ deployment_id: d1.id, states: ["COMPLETED", "RUNNING"] }, 3);
      const expected = newestFirst(all.filter((r) => r.deployment_id === d1.id && ["COMPLETED", "RUNNING"].includes(r.state.type)));
      expect(expected.length).toBeGreaterThan(3);
      expect(filtered.map((r) => r.id)).toEqual(expected.map((r) => r.id));

      const byPool = await pageThrough({ work_pool: "p2" }, 5);
      expect(byPool.map((r) => r.id)).toEqual(newestFirst(all.filter((r) => r.work_pool === "p2")).map((r) => r.id));

      const window = await pageThrough({ created_after: at(2), created_before: at(5) }, 2);
      expect(window.map((r) => r.id)).toEqual(newestFirst(all.filter((r) => r.created_at >= at(2) && r.created_at < at(5))).map((r) => r.id));
      expect(window).toHaveLength(9);

      expect(await store.listFlowRuns(ws.id, { states: [] }, { limit: 10 })).toEqual([]);
      expect(await store.listFlowRuns(ws.id, { deployment_id: newId() }, { limit: 10 })).toEqual([]);
    });

    it("keeps an idempotency key unique per workspace until it is cleared", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const first = await store.insertFlowRun(runInput(ws, d, p, { key: "order-42" }));
      expect(await store.findFlowRunByIdempotencyKey(ws.id, "order-42")).toEqual(first);
      expect(await store.findFlowRunByIdempotencyKey(ws.id, "order-43")).toBeNull();

      const again = await rejection(store.insertFlowRun(runInput(ws, d, p, { key: "order-42" })));
      expect(again.code).toBe("conflict");
      expect(again.message).toMatch(/idempotency key 'order-42' already exists/);

      const ws2 = await workspace(store, "other");
      const p2 = await pool(store, ws2, "push");
      const d2 = await deployment(store, ws2, p2, "nightly");
      await store.insertFlowRun(runInput(ws2, d2, p2, { key: "order-42" }));

      await store.clearIdempotencyKey(first.id);
      expect((await store.getFlowRun(ws.id, first.id))!.idempotency_key).toBeNull();
      const second = await store.insertFlowRun(runInput(ws, d, p, { key: "order-42" }));
      expect((await store.findFlowRunByIdempotencyKey(ws.id, "order-42"))!.id).toBe(second.id);

      // Runs without a key never collide.
      await store.insertFlowRun(runInput(ws, d, p));
      await store.insertFlowRun(runInput(ws, d, p));
    });

    it("serialises transactions that lock the same idempotency key", async () => {
      const ws = await workspace(store);
      const order: string[] = [];
      let locked!: () => void;
      const firstHasLock = new Promise<void>((resolve) => (locked = resolve));
      const first = store.transaction(async (tx) => {
        await tx.lockIdempotencyKey(ws.id, "k");
        locked();
        await sleep(200);
        order.push("first done");
      });
      await firstHasLock;
      const second = store.transaction(async (tx) => {
        await tx.lockIdempotencyKey(ws.id, "k");
        order.push("second locked");
      });
      await Promise.all([first, second]);
      expect(order).toEqual(["first done", "second locked"]);
    });
  });

  describe("logs and events", () => {
    it("merges history and logs by id, and resumes after any event id", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const run = await store.insertFlowRun(runInput(ws, d, p, { createdAt: at(0) }));
      const awkward = `quote " backslash \\ comma , braces {} NULL newline\n unicode ✓`;
      const batch1 = await store.insertLogs(ws.id, run.id, [
        { level: "info", message: "cloning", timestamp: at(1), source: "ferry" },
        { level: "debug", message: awkward, timestamp: at(1), source: "flow" },
      ]);
      expect(batch1.map((l) => l.message)).toEqual(["cloning", awkward]);
      expect(batch1[0]).toEqual({ id: expect.stringMatching(/^\d+$/), flow_run_id: run.id, level: "info", message: "cloning", timestamp: at(1), source: "ferry" });
      await store.setFlowRunState(run.id, { ...stateChange("PENDING"), timestamp: at(2) });
      await store.insertLogs(ws.id, run.id, [{ level: "warning", message: "slow", timestamp: at(3), source: "flow" }]);
      await store.setFlowRunState(run.id, { ...stateChange("RUNNING"), timestamp: at(4) });
      await store.insertLogs(ws.id, run.id, [{ level: "error", message: "oops", timestamp: at(5), source: "flow" }]);

      const events = await store.listFlowRunEvents(run.id, { limit: 100 });
      const describe = (e: (typeof events)[number]) => (e.kind === "state" ? `state:${e.state.type}` : `log:${e.log.message}`);
      expect(events.map(describe)).toEqual(["state:SCHEDULED", "log:cloning", `log:${awkward}`, "state:PENDING", "log:slow", "state:RUNNING", "log:oops"]);
      const ids = events.map((e) => BigInt(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
      expect(new Set(ids).size).toBe(ids.length);
      for (const e of events) expect(e.id).toBe(e.kind === "state" ? e.state.id : e.log.id);
      expect(events[3]).toEqual({
        kind: "state",
        id: events[3]!.id,
        flow_run_id: run.id,
        state: { id: events[3]!.id, type: "PENDING", name: "Pending", message: null, timestamp: at(2) },
      });

      for (let i = 0; i < events.length; i++) {
        const rest = await store.listFlowRunEvents(run.id, { limit: 100, after: events[i]!.id });
        expect(rest.map((e) => e.id)).toEqual(events.slice(i + 1).map((e) => e.id));
      }
      const page = await store.listFlowRunEvents(run.id, { limit: 2, after: events[1]!.id });
      expect(page.map(describe)).toEqual([`log:${awkward}`, "state:PENDING"]);

      const logs = await store.listLogs(run.id, { limit: 2 });
      expect(logs.map((l) => l.message)).toEqual(["cloning", awkward]);
      const moreLogs = await store.listLogs(run.id, { limit: 10, after: logs[1]!.id });
      expect(moreLogs.map((l) => l.message)).toEqual(["slow", "oops"]);
      expect(await store.listLogs(run.id, { limit: 10, after: events[events.length - 1]!.id })).toEqual([]);

      const bad = await rejection(store.listFlowRunEvents(run.id, { limit: 10, after: "abc" }));
      expect(bad.code).toBe("validation_failed");
    });

    it("lists logs in the order they were written when their ids cross a power of ten", async () => {
      const ws = await workspace(store);
      const p = await pool(store, ws, "push");
      const d = await deployment(store, ws, p, "nightly");
      const run = await store.insertFlowRun(runInput(ws, d, p));
      const written: string[] = [];
      for (let i = 0; i < 25; i++) {
        await store.insertLogs(ws.id, run.id, [{ level: "info", message: `line ${i}`, timestamp: at(i), source: "flow" }]);
        written.push(`line ${i}`);
      }
      const listed = await store.listLogs(run.id, { limit: 100 });
      expect(listed.map((l) => l.message)).toEqual(written);
      const page = await store.listLogs(run.id, { limit: 5, after: listed[3]!.id });
      expect(page.map((l) => l.message)).toEqual(written.slice(4, 9));
    });

    it("writes no logs for a run that does not exist", async () => {
      const ws = await workspace(store);
      expect(await store.insertLogs(ws.id, newId(), [{ level: "info", message: "x", timestamp: at(0), source: "flow" }])).toEqual([]);
      expect(await store.insertLogs(ws.id, newId(), [])).toEqual([]);
    });
  });

  describe("managed execution", () => {
    it("counts managed pools, active and queued managed runs, and this month's compute", async () => {
      const ws = await workspace(store);
      const managed = await pool(store, ws, "managed", MANAGED_POOL_TYPE);
      await pool(store, ws, "managed-2", "acme:managed");
      const push = await pool(store, ws, "push", "fake:push");
      const dm = await deployment(store, ws, managed, "m");
      const dp = await deployment(store, ws, push, "p");
      const monthStart = "2026-03-01T00:00:00.000Z";

      for (const type of ["SCHEDULED", "SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "COMPLETED", "CRASHED"] as StateType[]) {
        await runIn(store, ws, dm, managed, type);
      }
      for (const type of ["SCHEDULED", "RUNNING"] as StateType[]) await runIn(store, ws, dp, push, type);

      const thisMonth = await store.insertFlowRun(runInput(ws, dm, managed));
      await store.setFlowRunState(thisMonth.id, { ...stateChange("PENDING"), timestamp: at(0) });
      await store.setFlowRunState(thisMonth.id, { ...stateChange("RUNNING"), timestamp: at(0) }, { start_time: "2026-03-02T00:00:00.000Z" });
      await store.setFlowRunState(thisMonth.id, { ...stateChange("COMPLETED"), timestamp: at(0) }, { compute_seconds: 120.5 });
      const lastMonth = await store.insertFlowRun(runInput(ws, dm, managed));
      await store.updateFlowRun(lastMonth.id, { start_time: "2026-02-27T00:00:00.000Z", compute_seconds: 1000 });
      const pushRun = await store.insertFlowRun(runInput(ws, dp, push));
      await store.updateFlowRun(pushRun.id, { start_time: "2026-03-02T00:00:00.000Z", compute_seconds: 5000 });
      const running = await store.insertFlowRun(runInput(ws, dm, managed));
      await store.setFlowRunState(running.id, { ...stateChange("PENDING"), timestamp: at(0) }, { start_time: monthStart, compute_seconds: 30 });

      // Another workspace's managed runs never count.
      const other = await workspace(store, "other");
      const otherPool = await pool(store, other, "managed", MANAGED_POOL_TYPE);
      await runIn(store, other, await deployment(store, other, otherPool, "m"), otherPool, "RUNNING");

      expect(await store.managedUsage(ws.id, monthStart)).toEqual({
        managed_pools: 2,
        // PENDING, RUNNING, CANCELLING, and the PENDING run with compute
        concurrent_managed_runs: 4,
        // two SCHEDULED, plus lastMonth which never left SCHEDULED
        queued_managed_runs: 3,
        compute_seconds: 150.5,
      });
    });

    it("lists unfinished runs per pool kind across workspaces by id, and queued runs oldest first, of a kind, a workspace or a pool", async () => {
      const s = await target.fresh();
      const runs: FlowRunRecord[] = [];
      const pools: Record<string, { ws: WorkspaceRecord; push: WorkPoolRecord; managed: WorkPoolRecord; dp: DeploymentRecord; dm: DeploymentRecord }> = {};
      for (const name of ["a", "b"]) {
        const ws = await workspace(s, name);
        const push = await pool(s, ws, "push");
        const managed = await pool(s, ws, "managed", MANAGED_POOL_TYPE);
        pools[name] = { ws, push, managed, dp: await deployment(s, ws, push, "p"), dm: await deployment(s, ws, managed, "m") };
      }
      const order: [string, "push" | "managed", StateType, number][] = [
        ["a", "push", "SCHEDULED", 9],
        ["b", "managed", "SCHEDULED", 8],
        ["a", "managed", "RUNNING", 7],
        ["b", "push", "COMPLETED", 6],
        ["b", "push", "CANCELLING", 5],
        ["a", "managed", "SCHEDULED", 4],
        ["a", "push", "FAILED", 3],
        ["b", "push", "PENDING", 2],
        ["a", "managed", "CANCELLED", 1],
        ["b", "managed", "SCHEDULED", 10],
        ["a", "push", "SCHEDULED", 0],
      ];
      for (const [name, kind, type, createdSecond] of order) {
        const x = pools[name]!;
        runs.push(await runIn(s, x.ws, kind === "push" ? x.dp : x.dm, kind === "push" ? x.push : x.managed, type, at(createdSecond)));
      }
      const unfinished = (kind: "push" | "managed") =>
        runs
          .filter((r) => r.work_pool_type.endsWith(`:${kind}`) && !["COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(r.state.type))
          .map((r) => r.id)
          .sort();

      const pagePush: string[] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await s.listUnfinishedFlowRuns({ pool_kind: "push", limit: 1, after_id: afterId });
        if (page.length === 0) break;
        pagePush.push(...page.map((r) => r.id));
        afterId = page[page.length - 1]!.id;
      }
      expect(pagePush).toEqual(unfinished("push"));
      expect(pagePush).toHaveLength(4);
      expect((await s.listUnfinishedFlowRuns({ pool_kind: "managed", limit: 10 })).map((r) => r.id)).toEqual(unfinished("managed"));

      const queued = await s.listQueuedFlowRuns({ pool_kind: "managed", limit: 10 });
      const expectedQueued = runs
        .filter((r) => r.work_pool_type === MANAGED_POOL_TYPE && r.state.type === "SCHEDULED")
        .sort((x, y) => (x.created_at < y.created_at ? -1 : 1));
      expect(queued.map((r) => r.created_at)).toEqual([at(4), at(8), at(10)]);
      expect(queued.map((r) => r.id)).toEqual(expectedQueued.map((r) => r.id));
      expect((await s.listQueuedFlowRuns({ pool_kind: "managed", limit: 2 })).map((r) => r.id)).toEqual(expectedQueued.slice(0, 2).map((r) => r.id));
      expect((await s.listQueuedFlowRuns({ pool_kind: "managed", workspace_id: pools.b!.ws.id, limit: 10 })).map((r) => r.created_at)).toEqual([at(8), at(10)]);
      // One pool's waiting runs, oldest first: what a push pool's admission pass reads.
      const pushQueue = await s.listQueuedFlowRuns({ pool_kind: "push", workspace_id: pools.a!.ws.id, work_pool_id: pools.a!.push.id, limit: 10 });
      expect(pushQueue.map((r) => r.created_at)).toEqual([at(0), at(9)]);
      expect(await s.listQueuedFlowRuns({ pool_kind: "push", work_pool_id: pools.b!.push.id, limit: 10 })).toEqual([]);
      expect(await s.listQueuedFlowRuns({ pool_kind: "managed", work_pool_id: pools.a!.push.id, limit: 10 })).toEqual([]);
      expect(await s.listQueuedFlowRuns({ pool_kind: "push", workspace_id: "not-a-uuid", limit: 10 })).toEqual([]);

      expect(await s.countFlowRunsByState()).toEqual({ SCHEDULED: 5, RUNNING: 1, COMPLETED: 1, CANCELLING: 1, FAILED: 1, PENDING: 1, CANCELLED: 1 });
      expect(await s.countFlowRunsByState({ unfinishedOnly: true })).toEqual({ SCHEDULED: 5, RUNNING: 1, CANCELLING: 1, PENDING: 1 });
    });
  });

  describe("on a store with many runs", () => {
    let driver: SqlDriver;
    let statements: { sql: string; params: readonly unknown[] }[];
    let s: SqlStore;
    let ws: WorkspaceRecord;
    let push: WorkPoolRecord;
    let managed: WorkPoolRecord;

    beforeAll(async () => {
      driver = await (await target.rawDatabase()).driver();
      await migrate(driver);
      const recorder = recordingDriver(driver);
      statements = recorder.statements;
      s = new SqlStore(recorder.driver);
      ws = await workspace(s);
      push = await pool(s, ws, "push");
      managed = await pool(s, ws, "managed", MANAGED_POOL_TYPE);
      await seedRuns(driver, ws, push, managed, 6000);
    });

    /** What a server reads at start (recovery) and in every sweep, as the dispatchers call it. */
    const startAndSweep = async () => {
      const server = newId();
      await s.renewServerLease(server, 30_000);
      const first = await s.listUnfinishedFlowRuns({ pool_kind: "push", limit: 500, claimable_by: server });
      expect(first.length).toBeGreaterThan(0);
      await s.listUnfinishedFlowRuns({ pool_kind: "push", limit: 500, after_id: first[0]!.id, claimable_by: server });
      await s.listUnfinishedFlowRuns({ pool_kind: "managed", limit: 500, claimable_by: server });
      await s.claimFlowRun(first[0]!.id, server);
      await s.getFlowRunForSystem(first[0]!.id);
      await s.transaction(async (tx) => {
        await tx.lockWorkspace(ws.id);
        await tx.listQueuedFlowRuns({ pool_kind: "push", workspace_id: ws.id, work_pool_id: push.id, limit: 100 });
        await tx.listQueuedFlowRuns({ pool_kind: "managed", workspace_id: ws.id, limit: 1000 });
        await tx.countActiveFlowRunsInPool(push.id);
        await tx.managedUsage(ws.id, "2026-03-01T00:00:00.000Z");
      });
      // What a metrics scrape reads between two full counts.
      await s.countFlowRunsByState({ unfinishedOnly: true });
      await s.countWorkspaces();
    };

    const seqScansOfRuns = async () => {
      statements.length = 0;
      await startAndSweep();
      const runs = statements.filter((st) => /\bflow_runs\b/.test(st.sql));
      expect(runs.length).toBeGreaterThanOrEqual(9);
      const scans: string[] = [];
      for (const st of runs) {
        const nodes = await planNodes(driver, st.sql, st.params);
        if (nodes.some((n) => n["Node Type"] === "Seq Scan" && n["Relation Name"] === "flow_runs")) scans.push(st.sql.replace(/\s+/g, " "));
      }
      return scans;
    };

    it("read only unfinished runs at start and in the sweep, through indexes, before the store has statistics", async () => {
      expect(await seqScansOfRuns()).toEqual([]);
    });

    it("and after: a maintenance pass (PGlite) or ANALYZE (PostgreSQL's autovacuum) changes no plan to a scan", async () => {
      if (kind === "pglite") await s.maintain();
      else await driver.exec("ANALYZE");
      expect(await seqScansOfRuns()).toEqual([]);
    });
  });

  describe("maintenance", () => {
    it(kind === "pglite"
      ? "analyses tables that never had statistics or changed much, and a filtered list then uses the state index"
      : "leaves PostgreSQL to autovacuum", async () => {
      const driver = await (await target.rawDatabase()).driver();
      await migrate(driver);
      const s = new SqlStore(driver);
      const ws = await workspace(s);
      const push = await pool(s, ws, "push");
      const managed = await pool(s, ws, "managed", MANAGED_POOL_TYPE);
      await seedRuns(driver, ws, push, managed, 5000);
      const done = await s.maintain();
      if (kind === "postgres") {
        expect(done).toEqual({ analyzed: [], vacuumed: [] });
        return;
      }
      expect(done.analyzed).toContain("flow_runs");
      const { rows } = await driver.query<{ tuples: number; states: number }>(
        `SELECT (SELECT reltuples::float8 FROM pg_class WHERE relname = 'flow_runs') AS tuples,
                (SELECT count(*)::int FROM pg_stats WHERE tablename = 'flow_runs' AND attname = 'state_type') AS states`,
      );
      expect(rows[0]!.tuples).toBeGreaterThan(4000);
      expect(rows[0]!.states).toBe(1);
      // Nothing changed since: the next pass has nothing to do.
      expect(await s.maintain()).toEqual({ analyzed: [], vacuumed: [] });

      const recorder = recordingDriver(driver);
      await new SqlStore(recorder.driver).listFlowRuns(ws.id, { states: ["FAILED"] }, { limit: 200 });
      const list = recorder.statements[0]!;
      const nodes = await planNodes(driver, list.sql, list.params);
      expect(nodes.some((n) => n["Relation Name"] === "flow_runs" && n["Index Name"] === "flow_runs_workspace_state_created_idx")).toBe(true);

      // Many deleted rows: the next pass vacuums the table.
      await driver.query("DELETE FROM flow_runs WHERE state_type = 'COMPLETED' AND work_pool_id = $1", [push.id]);
      expect((await s.maintain()).vacuumed).toContain("flow_runs");
    });
  });

  describe("notifications", () => {
    it("delivers published payloads to subscribers until they unsubscribe", async () => {
      const received: string[] = [];
      const stop = await store.subscribe("ferry_test_events", (payload) => received.push(payload));
      await store.publish("ferry_test_events", "run-1");
      await waitFor(() => received.length === 1);
      await stop();
      await store.publish("ferry_test_events", "run-2");
      await sleep(100);
      expect(received).toEqual(["run-1"]);

      const bad = await rejection(store.publish("Bad Channel!", "x"));
      expect(bad.code).toBe("validation_failed");
    });

    // PGlite has one connection: another store on the same database exists on PostgreSQL only.
    if (kind === "postgres") it("reaches another store on the same database (another server process)", async () => {
      const other = await target.sameDatabase!(store);
      const received: string[] = [];
      const stop = await other.subscribe("ferry_test_cross", (payload) => received.push(payload));
      await store.publish("ferry_test_cross", "hello");
      await waitFor(() => received.length === 1);
      expect(received).toEqual(["hello"]);
      await stop();
    });
  });

  storeListsSuite(kind, () => target);
  storeOidcSuite(kind, () => target);
  storeRunsSuite(kind, () => target);
}

class Barrier {
  private arrived = 0;
  private release!: () => void;
  private readonly all = new Promise<void>((resolve) => (this.release = resolve));
  constructor(private readonly parties: number) {}
  /** Resolves when every party arrived, or after `timeoutMs` (a party blocked on a lock never arrives). */
  async arriveAndWait(timeoutMs: number): Promise<void> {
    if (++this.arrived === this.parties) this.release();
    await Promise.race([this.all, sleep(timeoutMs)]);
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}
