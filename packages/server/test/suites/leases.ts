import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newId, stateChange, type Store } from "@ferry/core";
import { openStore } from "../../src/store/open-store.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";

/** Server leases and run owners in the store: who may take up a run, decided in one statement. */
export function leaseSuite(kind: StoreKind): void {
  let store: Store;
  let drop: (() => Promise<void>) | undefined;
  let workspaceId: string;

  beforeAll(async () => {
    const db = kind === "postgres" ? await freshDatabase() : null;
    drop = db?.drop;
    store = await openStore({ databaseUrl: db?.url ?? null, dataDir: "memory://" });
    workspaceId = (await store.createWorkspace({ id: newId(), name: "leases", tier: "free", limits_override: {} })).id;
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  const newRun = async (owner_id?: string) =>
    store.insertFlowRun({
      owner_id,
      id: newId(), workspace_id: workspaceId, name: "r", deployment_id: newId(), deployment_name: "d", flow_name: "f",
      work_pool_id: newId(), work_pool: "p", work_pool_type: "fake:push", parameters: {}, job_variables: {}, job_configuration: {},
      tags: [], idempotency_key: null, state: stateChange("PENDING", { name: "Submitting" }), created_at: new Date().toISOString(),
    });

  it("gives a run to one live server at a time, and to another once that one's lease has expired", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await store.renewServerLease(a, 60_000);
    await store.renewServerLease(b, 60_000);
    const run = await newRun();
    const claimable = async (server: string) => (await store.listUnfinishedFlowRuns({ pool_kind: "push", limit: 1000, claimable_by: server })).some((r) => r.id === run.id);

    expect(await claimable(a)).toBe(true);
    expect(await claimable(b)).toBe(true);
    expect(await store.claimFlowRun(run.id, a)).toEqual({ previous_owner: null });
    expect(await store.claimFlowRun(run.id, b)).toBeNull();
    expect(await claimable(b)).toBe(false);
    expect(await store.claimFlowRun(run.id, a)).toEqual({ previous_owner: a });

    await store.renewServerLease(a, 0); // A stopped renewing: its lease has run out
    expect(await claimable(b)).toBe(true);
    expect(await store.claimFlowRun(run.id, b)).toEqual({ previous_owner: a });
    expect(await store.claimFlowRun(run.id, a)).toBeNull();
  });

  it("records the owner a run is created with, as a claim would: another live server cannot take it, its owner's next claim finds itself", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await store.renewServerLease(a, 60_000);
    await store.renewServerLease(b, 60_000);
    const run = await newRun(a);
    expect((await store.listUnfinishedFlowRuns({ pool_kind: "push", limit: 1000, claimable_by: b })).some((r) => r.id === run.id)).toBe(false);
    expect(await store.claimFlowRun(run.id, b)).toBeNull();
    expect(await store.claimFlowRun(run.id, a)).toEqual({ previous_owner: a });
    await store.renewServerLease(a, 0);
    expect(await store.claimFlowRun(run.id, b)).toEqual({ previous_owner: a });
  });

  it("lets a server without a lease row take up runs of servers never seen (their lease is long gone)", async () => {
    const run = await newRun();
    const ghost = randomUUID();
    expect(await store.claimFlowRun(run.id, ghost)).toEqual({ previous_owner: null });
    const other = randomUUID();
    expect(await store.claimFlowRun(run.id, other)).toEqual({ previous_owner: ghost });
    expect(await store.claimFlowRun(newId(), other)).toBeNull();
  });
}
