import { beforeAll, describe, expect, it } from "vitest";
import { LIST_TOTAL_EXACT_MAX, newId, type ListTotal, type PageRequest, type Store, type StoreTx, type WorkspaceRecord } from "@ferry/core";
import type { SqlDriver } from "../../src/store/driver.js";
import { migrate } from "../../src/store/migrations.js";
import { SqlStore } from "../../src/store/sql-store.js";
import type { StoreKind } from "../support/databases.js";
import { deployment, planNodes, pool, recordingDriver, rejection, seedRuns, workspace, type Target } from "./store.js";

/**
 * One list as the churn test drives it: a page after a key, the key of a row, and how to add and
 * remove rows between pages.
 */
interface ListCase<R extends { id: string }, K> {
  name: string;
  page(page: PageRequest<K>): Promise<R[]>;
  all(): Promise<R[]>;
  keyOf(row: R): K;
  add(i: number): Promise<R>;
  remove(row: R): Promise<void>;
  total(): Promise<ListTotal>;
}

/**
 * Pages through a list 3 rows at a time, adding a row and deleting another between pages. Every row
 * that was there from start to end must be seen exactly once, no row twice, and in the list's order.
 */
async function pageWithChurn<R extends { id: string }, K>(list: ListCase<R, K>, initial: number): Promise<void> {
  const start: R[] = [];
  for (let i = 0; i < initial; i++) start.push(await list.add(i));
  expect(await list.total()).toEqual({ total: initial, total_is_estimate: false });
  const removed = new Set<string>();
  const seen: string[] = [];
  let after: K | undefined;
  let added = initial;
  for (let guard = 0; guard < 100; guard++) {
    const page = await list.page({ limit: 3, after });
    seen.push(...page.map((r) => r.id));
    if (page.length < 3) break;
    after = list.keyOf(page[page.length - 1]!);
    // One new row and one deleted (the last of the starting rows still there) before the next page.
    await list.add(added++);
    const victim = [...start].reverse().find((r) => !removed.has(r.id) && !seen.includes(r.id));
    if (victim) {
      await list.remove(victim);
      removed.add(victim.id);
    }
  }
  expect(new Set(seen).size, `${list.name}: a row was seen twice`).toBe(seen.length);
  const stayed = start.filter((r) => !removed.has(r.id)).map((r) => r.id);
  expect(stayed.filter((id) => !seen.includes(id)), `${list.name}: rows missed`).toEqual([]);
  expect(removed.size).toBeGreaterThan(0);
  // In the list's own order: what was seen and is still there comes in the order of the whole list now.
  const now = (await list.all()).map((r) => r.id);
  expect(seen.filter((id) => now.includes(id))).toEqual(now.filter((id) => seen.includes(id)));
  expect(await list.total()).toEqual({ total: now.length, total_is_estimate: false });
}

const pad = (i: number) => String(i).padStart(3, "0");

/** The lists' cases of the store suite: keyset pages, totals, and the indexes that serve them. */
export function storeListsSuite(kind: StoreKind, getTarget: () => Target): void {
  describe("lists paged by cursor", () => {
    let store: Store;
    let ws: WorkspaceRecord;

    beforeAll(async () => {
      // A store of its own: the workspaces list sees every workspace of its database.
      store = await getTarget().fresh();
      ws = await workspace(store, "lists");
    });

    it("pages work pools by name, each exactly once while pools are added and deleted", async () => {
      await pageWithChurn(
        {
          name: "work pools",
          page: (page: PageRequest<string>) => store.listWorkPools(ws.id, page),
          all: () => store.listWorkPools(ws.id),
          keyOf: (row) => row.name,
          add: (i) => pool(store, ws, `pool-${pad(i)}`),
          remove: async (row) => void (await store.deleteWorkPool(ws.id, row.name)),
          total: () => store.totalWorkPools(ws.id),
        },
        10,
      );
    });

    it("pages credentials by name, each exactly once while some are added and deleted", async () => {
      const other = await workspace(store, "lists-credentials");
      await pageWithChurn(
        {
          name: "credentials",
          page: (page: PageRequest<string>) => store.listCredentials(other.id, page),
          all: () => store.listCredentials(other.id),
          keyOf: (row) => row.name,
          add: (i) =>
            store.insertCredentials({ id: newId(), workspace_id: other.id, name: `creds-${pad(i)}`, type: "git", plain_data: {}, secret_ciphertext: "" }),
          remove: async (row) => void (await store.deleteCredentials(other.id, row.name)),
          total: () => store.totalCredentials(other.id),
        },
        8,
      );
    });

    it("pages API keys oldest first by id, each exactly once while keys are added and deleted", async () => {
      const other = await workspace(store, "lists-keys");
      await pageWithChurn(
        {
          name: "API keys",
          page: (page: PageRequest<string>) => store.listApiKeys(other.id, page),
          all: () => store.listApiKeys(other.id),
          keyOf: (row) => row.id,
          add: (i) => store.insertApiKey({ id: newId(), workspace_id: other.id, name: `key-${i}`, prefix: `fk_${pad(i)}`, hash: newId() }),
          remove: async (row) => void (await store.deleteApiKey(other.id, row.id)),
          total: () => store.totalApiKeys(other.id),
        },
        7,
      );
      const keys = await store.listApiKeys(other.id);
      expect(keys.map((k) => k.id)).toEqual(keys.map((k) => k.id).sort());
    });

    it("pages deployments by flow name and name, each exactly once while some are added and deleted", async () => {
      const other = await workspace(store, "lists-deployments");
      const p = await pool(store, other, "main");
      await pageWithChurn(
        {
          name: "deployments",
          page: (page: PageRequest<{ flow_name: string; name: string }>) => store.listDeployments(other.id, {}, page),
          all: () => store.listDeployments(other.id, {}),
          keyOf: (row) => ({ flow_name: row.flow_name, name: row.name }),
          // Two flows, so the keyset crosses from one flow's names to the next.
          add: (i) => deployment(store, other, p, `dep-${pad(i)}`, i % 2 === 0 ? "etl" : "report"),
          remove: async (row) => void (await store.deleteDeployment(other.id, row.id)),
          total: () => store.totalDeployments(other.id, {}),
        },
        9,
      );
    });

    it("pages workspaces oldest first, each exactly once while some are added and deleted", async () => {
      const own = await getTarget().fresh();
      await pageWithChurn(
        {
          name: "workspaces",
          page: (page: PageRequest<string>) => own.listWorkspaces(page),
          all: () => own.listWorkspaces(),
          keyOf: (row) => row.id,
          add: (i) => workspace(own, `ws-${pad(i)}`),
          remove: async (row) => {
            await (own as unknown as { db: SqlDriver }).db.query("DELETE FROM workspaces WHERE id = $1", [row.id]);
          },
          total: () => own.totalWorkspaces(),
        },
        7,
      );
    });

    it("filters and searches deployments, on every page and in the total", async () => {
      const other = await workspace(store, "lists-search");
      const a = await pool(store, other, "alpha");
      const b = await pool(store, other, "beta");
      for (let i = 0; i < 6; i++) await deployment(store, other, i % 2 ? a : b, `nightly-${i}`, i < 3 ? "etl" : "Billing");
      const d = (await deployment(store, other, a, "hourly", "etl")).id;
      await store.updateDeployment(other.id, d, { ...(await store.getDeployment(other.id, d))!, tags: ["Finance", "hot"] });

      const names = async (filter: Parameters<StoreTx["listDeployments"]>[1]) => {
        const out: string[] = [];
        let after: { flow_name: string; name: string } | undefined;
        for (;;) {
          const page = await store.listDeployments(other.id, filter, { limit: 2, after });
          out.push(...page.map((x) => `${x.flow_name}/${x.name}`));
          if (page.length < 2) return out;
          after = { flow_name: page[1]!.flow_name, name: page[1]!.name };
        }
      };
      expect(await names({ work_pool: "alpha" })).toEqual(["Billing/nightly-3", "Billing/nightly-5", "etl/hourly", "etl/nightly-1"]);
      expect(await store.totalDeployments(other.id, { work_pool: "alpha" })).toEqual({ total: 4, total_is_estimate: false });
      expect(await names({ work_pool: "nope" })).toEqual([]);
      // Every word, any case, in flow/name, the pool or a tag.
      expect(await names({ search: "billing NIGHTLY" })).toEqual(["Billing/nightly-3", "Billing/nightly-4", "Billing/nightly-5"]);
      expect(await names({ search: "etl/night beta" })).toEqual(["etl/nightly-0", "etl/nightly-2"]);
      expect(await names({ search: "finance" })).toEqual(["etl/hourly"]);
      expect(await names({ search: "100%_" })).toEqual([]);
      expect(await store.totalDeployments(other.id, { search: "billing", work_pool: "beta" })).toEqual({ total: 1, total_is_estimate: false });
      expect(await names({ flow_name: "etl", name: "hourly" })).toEqual(["etl/hourly"]);
    });

    it("refuses a cursor key that cannot be one, saying so", async () => {
      for (const call of [() => store.listApiKeys(ws.id, { limit: 2, after: "not-an-id" }), () => store.listWorkspaces({ limit: 2, after: "x" })]) {
        const error = await rejection(call());
        expect(error.code).toBe("validation_failed");
        expect(error.message).toMatch(/cursor is not valid; pass the next_cursor of a previous page unchanged/);
      }
    });

    it("counts runs exactly up to the bound, and past it answers the planner's estimate, marked as one", async () => {
      const own = await getTarget().fresh();
      const other = await workspace(own, "many");
      const push = await pool(own, other, "push");
      const managed = await pool(own, other, "managed");
      await seedRuns((own as unknown as { db: SqlDriver }).db, other, push, managed, LIST_TOTAL_EXACT_MAX + 500);
      const all = await own.totalFlowRuns(other.id, {});
      expect(all.total_is_estimate).toBe(true);
      expect(all.total).toBeGreaterThan(LIST_TOTAL_EXACT_MAX);
      // seedRuns makes 1 in 100 waiting: counted, not estimated.
      expect(await own.totalFlowRuns(other.id, { states: ["SCHEDULED"] })).toEqual({ total: 105, total_is_estimate: false });
      expect(await own.totalFlowRuns(other.id, { work_pool: "nope" })).toEqual({ total: 0, total_is_estimate: false });
      expect(await own.totalFlowRuns(newId(), {})).toEqual({ total: 0, total_is_estimate: false });
      // With statistics the estimate is near the truth.
      await own.maintain();
      if (kind !== "pglite") await (own as unknown as { db: SqlDriver }).db.exec("ANALYZE flow_runs");
      const estimated = await own.totalFlowRuns(other.id, {});
      expect(estimated.total_is_estimate).toBe(true);
      expect(estimated.total).toBeGreaterThan(LIST_TOTAL_EXACT_MAX * 0.9);
      expect(estimated.total).toBeLessThan(LIST_TOTAL_EXACT_MAX * 1.2);
    });

    it("reads each list's page from an index in the list's order (no sort, no scan of the table)", async () => {
      const driver = await (await getTarget().rawDatabase()).driver();
      await migrate(driver);
      const recorder = recordingDriver(driver);
      const s = new SqlStore(recorder.driver);
      const w = await workspace(s, "plans");
      const p = await pool(s, w, "p");
      const d = await deployment(s, w, p, "d");
      const key = await s.insertApiKey({ id: newId(), workspace_id: w.id, name: "k", prefix: "fk_1", hash: newId() });
      recorder.statements.length = 0;
      await s.listWorkspaces({ limit: 10, after: w.id });
      await s.listApiKeys(w.id, { limit: 10, after: key.id });
      await s.listWorkPools(w.id, { limit: 10, after: "a" });
      await s.listCredentials(w.id, { limit: 10, after: "a" });
      await s.listDeployments(w.id, {}, { limit: 10, after: { flow_name: d.flow_name, name: "a" } });
      await s.listDeployments(w.id, { work_pool: "p" }, { limit: 10, after: { flow_name: d.flow_name, name: "a" } });
      const tables = ["workspaces", "api_keys", "work_pools", "credentials", "deployments", "deployments"];
      expect(recorder.statements).toHaveLength(tables.length);
      const problems: string[] = [];
      for (const [i, st] of recorder.statements.entries()) {
        // Tables this small would be scanned whatever the indexes: forbid scans to see what serves the query.
        const nodes = await driver.transaction(async (tx) => {
          await tx.exec("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off");
          return planNodes(tx, st.sql, st.params);
        });
        const table = tables[i]!;
        if (nodes.some((n) => n["Node Type"] === "Seq Scan" && n["Relation Name"] === table)) problems.push(`scan of ${table}: ${st.sql}`);
        if (nodes.some((n) => n["Node Type"] === "Sort" || n["Node Type"] === "Incremental Sort")) problems.push(`sort: ${st.sql}`);
      }
      expect(problems).toEqual([]);
    });
  });
}
