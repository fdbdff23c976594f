import { beforeAll, describe, expect, it } from "vitest";
import { newId, type AccessTokenRecord, type Store } from "@ferry/core";
import type { StoreKind } from "../support/databases.js";
import { rejection, workspace, type Target } from "./store.js";

/** Trust policies and access tokens: the same on PGlite and PostgreSQL (run by storeSuite). */
export function storeOidcSuite(_kind: StoreKind, target: () => Target): void {
  describe("OIDC trust policies and access tokens", () => {
    let store: Store;
    beforeAll(async () => {
      store = await target().fresh();
    });

    const policy = (workspace_id: string, name: string) => ({
      id: newId(),
      workspace_id,
      name,
      issuer: "https://token.actions.githubusercontent.com",
      audience: "ferry",
      conditions: { repository: "acme/etl", ref: "refs/heads/*" },
      role: "deployer" as const,
    });
    const token = (workspace_id: string, policy_id: string, expires_at: string): AccessTokenRecord => ({
      hash: newId(),
      workspace_id,
      policy_id,
      role: "deployer",
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:acme/etl:ref:refs/heads/main",
      created_at: "2026-12-01T10:00:00.000Z",
      expires_at,
    });

    it("keeps policies per workspace by name, unique within one, paged by name", async () => {
      const a = await workspace(store, "oidc-a");
      const b = await workspace(store, "oidc-b");
      const made = await store.insertOidcTrustPolicy(policy(a.id, "main"));
      expect(made).toMatchObject({ name: "main", conditions: { repository: "acme/etl", ref: "refs/heads/*" }, role: "deployer", workspace_id: a.id });
      expect(made.created_at).toMatch(/Z$/);
      await store.insertOidcTrustPolicy(policy(a.id, "deploy"));
      await store.insertOidcTrustPolicy(policy(b.id, "main"));
      expect((await rejection(store.insertOidcTrustPolicy(policy(a.id, "main")))).code).toBe("conflict");
      expect((await store.listOidcTrustPolicies(a.id)).map((p) => p.name)).toEqual(["deploy", "main"]);
      expect((await store.listOidcTrustPolicies(a.id, { limit: 1, after: "deploy" })).map((p) => p.name)).toEqual(["main"]);
      expect(await store.totalOidcTrustPolicies(a.id)).toEqual({ total: 2, total_is_estimate: false });
      expect(await store.deleteOidcTrustPolicy(b.id, "deploy")).toBe(false);
      expect(await store.deleteOidcTrustPolicy(a.id, "deploy")).toBe(true);
      expect((await store.listOidcTrustPolicies(a.id)).map((p) => p.name)).toEqual(["main"]);
      expect(await store.listOidcTrustPolicies("not-a-uuid")).toEqual([]);
    });

    it("finds an access token by hash until it expires, and forgets it with its policy", async () => {
      const ws = await workspace(store, "oidc-tokens");
      const p = await store.insertOidcTrustPolicy(policy(ws.id, "main"));
      const t = token(ws.id, p.id, "2026-12-01T10:15:00.000Z");
      await store.insertAccessToken(t);
      const found = await store.findAccessToken(t.hash, "2026-12-01T10:14:59.000Z");
      expect(found?.token).toEqual(t);
      expect(found?.workspace.id).toBe(ws.id);
      expect(await store.findAccessToken(t.hash, "2026-12-01T10:15:00.000Z")).toBeNull();
      expect(await store.findAccessToken("unknown", "2026-12-01T10:00:00.000Z")).toBeNull();

      const old = token(ws.id, p.id, "2026-12-01T09:00:00.000Z");
      await store.insertAccessToken(old);
      expect(await store.deleteExpiredAccessTokens("2026-12-01T10:00:00.000Z")).toBe(1);

      await store.deleteOidcTrustPolicy(ws.id, "main");
      expect(await store.findAccessToken(t.hash, "2026-12-01T10:00:00.000Z")).toBeNull();
    });
  });
}
