import { beforeAll, describe, expect, it } from "vitest";
import { newId, stateChange, type NewFlowRun, type Store } from "@ferry/core";
import type { StoreKind } from "../support/databases.js";
import { deployment, pool, workspace, type Target } from "./store.js";

/** Retries, re-runs, variables and secrets: the same on PGlite and PostgreSQL (run by storeSuite). */
export function storeRunsSuite(_kind: StoreKind, target: () => Target): void {
  describe("retries, variables and secrets", () => {
    let store: Store;
    beforeAll(async () => {
      store = await target().fresh();
    });

    it("keeps a deployment's retry policy, and a run's own with its attempts, commit and origin", async () => {
      const ws = await workspace(store, "retries");
      const p = await pool(store, ws, "managed", "ferry:managed");
      const d = await deployment(store, ws, p, "nightly");
      expect(d).toMatchObject({ retries: 0, retry_delay_seconds: 0, retry_on_crash: false });
      const { id: _id, workspace_id: _ws, created_at: _c, updated_at: _u, ...rest } = d;
      const changed = await store.updateDeployment(ws.id, d.id, { ...rest, retries: 3, retry_delay_seconds: 60, retry_on_crash: true });
      expect(changed).toMatchObject({ retries: 3, retry_delay_seconds: 60, retry_on_crash: true });
      expect(await store.getDeployment(ws.id, d.id)).toMatchObject({ retries: 3, retry_delay_seconds: 60, retry_on_crash: true });

      const input: NewFlowRun = {
        id: newId(), workspace_id: ws.id, name: "r", deployment_id: d.id, deployment_name: d.name, flow_name: d.flow_name,
        work_pool_id: p.id, work_pool: p.name, work_pool_type: p.type, parameters: {}, job_variables: {}, job_configuration: null, tags: [],
        idempotency_key: null, state: stateChange("SCHEDULED"), created_at: new Date().toISOString(),
        retries: 2, retry_delay_seconds: 5, retry_on_crash: true, source_commit: "0123456789abcdef0123456789abcdef01234567", rerun_of: newId(),
      };
      const inserted = await store.insertFlowRun(input);
      const read = await store.getFlowRunForSystem(input.id);
      expect(read).toEqual({ ...inserted, updated_at: read!.updated_at });
      expect(read).toMatchObject({ retries: 2, retry_delay_seconds: 5, retry_on_crash: true, attempt: 1, next_attempt_at: null, source_commit: input.source_commit, rerun_of: input.rerun_of });

      // The batch insert (the scheduler's) keeps them too.
      const batch = { ...input, id: newId(), idempotency_key: "batch", rerun_of: null };
      expect(await store.insertFlowRuns([batch])).toBe(1);
      expect(await store.getFlowRunForSystem(batch.id)).toMatchObject({ retries: 2, retry_delay_seconds: 5, retry_on_crash: true, attempt: 1, rerun_of: null });
    });

    it("moves a run to its next attempt with its history, and admits it only once its time has come", async () => {
      const ws = await workspace(store, "attempts");
      const p = await pool(store, ws, "managed", "ferry:managed");
      const d = await deployment(store, ws, p, "nightly");
      const id = newId();
      await store.insertFlowRun({
        id, workspace_id: ws.id, name: "r", deployment_id: d.id, deployment_name: d.name, flow_name: d.flow_name, work_pool_id: p.id,
        work_pool: p.name, work_pool_type: p.type, parameters: {}, job_variables: {}, job_configuration: null, tags: [], idempotency_key: null,
        state: stateChange("SCHEDULED"), created_at: "2026-06-01T10:00:00.000Z", retries: 1,
      });
      const t = (s: number) => new Date(Date.parse("2026-06-01T10:00:00.000Z") + s * 1000).toISOString();
      await store.setFlowRunState(id, { ...stateChange("PENDING"), timestamp: t(1) }, { infrastructure_id: "process:1" });
      await store.setFlowRunState(id, { ...stateChange("RUNNING"), timestamp: t(2) }, { source_commit: "abcdef1" });
      const retry = await store.compareAndSetFlowRunState(
        id,
        { type: "RUNNING", name: "Running" },
        { ...stateChange("SCHEDULED", { name: "AwaitingRetry", message: "attempt 1 of 2 ended Failed" }), timestamp: t(3) },
        { infrastructure_id: null, attempt: 2, next_attempt_at: t(60) },
      );
      expect(retry!.run).toMatchObject({ attempt: 2, next_attempt_at: t(60), infrastructure_id: null, source_commit: "abcdef1", end_time: null });
      expect(retry!.run.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" });

      const queued = (at: string) => store.listQueuedFlowRuns({ pool_kind: "managed", workspace_id: ws.id, due_at: at, limit: 10 });
      expect((await queued(t(59))).map((r) => r.id)).toEqual([]);
      expect((await queued(t(60))).map((r) => r.id)).toEqual([id]);
      // Not Late while it waits for its time (Late counts from the next attempt's time).
      expect((await store.listLateFlowRuns(t(100), 100)).map((r) => r.id)).not.toContain(id);
      expect((await store.listLateFlowRuns(t(200), 100)).map((r) => r.id)).toContain(id);

      await store.setFlowRunState(id, { ...stateChange("PENDING"), timestamp: t(61) });
      await store.setFlowRunState(id, { ...stateChange("RUNNING"), timestamp: t(62) });
      await store.setFlowRunState(id, { ...stateChange("FAILED"), timestamp: t(63) });
      const names = (await store.getFlowRunHistory(ws.id, id)).map((s) => s.name);
      expect(names).toEqual(["Scheduled", "Pending", "Running", "AwaitingRetry", "Pending", "Running", "Failed"]);
    });

    it("keeps variables and secrets per workspace by name, set again in place, paged by name", async () => {
      const a = await workspace(store, "vars-a");
      const b = await workspace(store, "vars-b");
      const first = await store.putVariable(a.id, "region", "eu-west-1");
      expect(first).toMatchObject({ workspace_id: a.id, name: "region", value: "eu-west-1" });
      const again = await store.putVariable(a.id, "region", "us-east-1");
      expect(again).toMatchObject({ value: "us-east-1", created_at: first.created_at });
      await store.putVariable(a.id, "bucket", "data");
      await store.putVariable(b.id, "region", "other");
      expect((await store.listVariables(a.id)).map((v) => `${v.name}=${v.value}`)).toEqual(["bucket=data", "region=us-east-1"]);
      expect((await store.listVariables(a.id, { limit: 1, after: "bucket" })).map((v) => v.name)).toEqual(["region"]);
      expect(await store.totalVariables(a.id)).toEqual({ total: 2, total_is_estimate: false });
      expect((await store.getVariables(a.id, ["region", "nope"])).map((v) => v.value)).toEqual(["us-east-1"]);
      expect(await store.deleteVariable(a.id, "region")).toBe(true);
      expect(await store.deleteVariable(a.id, "region")).toBe(false);
      expect((await store.getVariables(b.id, ["region"]))[0]!.value).toBe("other");

      await store.putSecret(a.id, "token", "v1.ciphertext-a");
      await store.putSecret(b.id, "token", "v1.ciphertext-b");
      const [secret] = await store.getSecrets(a.id, ["token"]);
      expect(secret).toMatchObject({ workspace_id: a.id, name: "token", ciphertext: "v1.ciphertext-a" });
      expect((await store.listSecrets(a.id)).map((s) => s.name)).toEqual(["token"]);
      expect(await store.totalSecrets(a.id)).toEqual({ total: 1, total_is_estimate: false });
      expect(await store.deleteSecret(a.id, "token")).toBe(true);
      expect(await store.getSecrets(a.id, ["token"])).toEqual([]);
      expect(await store.getSecrets(b.id, ["token"])).toHaveLength(1);
      expect(await store.getSecrets("not-a-uuid", ["token"])).toEqual([]);
    });
  });
}
