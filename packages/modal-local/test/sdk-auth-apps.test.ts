import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "modal";
import { startModalLocal, TOKEN_INVALID_MESSAGE, TOKEN_ID_MALFORMED_MESSAGE, type ModalLocal } from "../src/index.js";
import { modalClient } from "./helpers.js";

let local: ModalLocal;

beforeAll(async () => {
  local = await startModalLocal({ docker: null, environments: ["main", "staging"] });
});
afterAll(async () => {
  await local.close();
});

describe("auth, through the official SDK", () => {
  it("accepts the server's token and records the token id with each call", async () => {
    const modal = modalClient(local);
    const app = await modal.apps.fromName("auth-ok", { createIfMissing: true });
    expect(app.appId).toMatch(/^ap-/);
    const calls = local.calls().filter((c) => c.rpc === "AppGetOrCreate");
    expect(calls.at(-1)).toMatchObject({ tokenId: local.token.tokenId, status: "OK" });
    expect(local.calls().some((c) => c.rpc === "AuthTokenGet" && c.status === "OK")).toBe(true);
    expect(JSON.stringify(local.calls())).not.toContain(local.token.tokenSecret);
  });

  it("answers an unknown token UNAUTHENTICATED with Modal's message", async () => {
    const modal = modalClient(local, { token: { tokenId: "ak-unknownunknownunknown1", tokenSecret: "as-wrongwrongwrongwrong12" } });
    await expect(modal.apps.fromName("auth-bad", { createIfMissing: true })).rejects.toMatchObject({ code: 16, details: TOKEN_INVALID_MESSAGE });
    expect(local.sandboxes()).toHaveLength(0);
  });

  it("answers a malformed token id as Modal does", async () => {
    const modal = modalClient(local, { token: { tokenId: "not-a-token", tokenSecret: "as-whatever" } });
    await expect(modal.apps.fromName("auth-bad", { createIfMissing: true })).rejects.toMatchObject({ code: 16, details: TOKEN_ID_MALFORMED_MESSAGE });
  });

  it("checks a token with a read-only call (the image builder version of the default environment)", async () => {
    expect(await modalClient(local).getImageBuilderVersion()).toBe("2025.06");
    const bad = modalClient(local, { token: { tokenId: "ak-unknownunknownunknown2", tokenSecret: "as-wrongwrongwrongwrong12" } });
    await expect(bad.getImageBuilderVersion()).rejects.toMatchObject({ code: 16 });
    expect(local.snapshot().apps.map((a) => a.name)).not.toContain("");
  });

  it("refuses a revoked token", async () => {
    const second = local.addToken();
    const modal = modalClient(local, { token: second });
    await modal.apps.fromName("auth-revoked", { createIfMissing: true });
    local.revokeToken(second.tokenId);
    const again = modalClient(local, { token: second });
    await expect(again.apps.fromName("auth-revoked")).rejects.toMatchObject({ code: 16, details: TOKEN_INVALID_MESSAGE });
  });
});

describe("apps and environments", () => {
  it("gets or creates an app by name, once per environment", async () => {
    const modal = modalClient(local);
    const first = await modal.apps.fromName("ferry", { createIfMissing: true });
    const second = await modal.apps.fromName("ferry", { createIfMissing: true });
    const looked = await modal.apps.fromName("ferry");
    expect(second.appId).toBe(first.appId);
    expect(looked.appId).toBe(first.appId);
    const staging = await modal.apps.fromName("ferry", { environment: "staging", createIfMissing: true });
    expect(staging.appId).not.toBe(first.appId);
    expect(staging.environmentName).toBe("staging");
  });

  it("does not create an app on a lookup", async () => {
    const modal = modalClient(local);
    await expect(modal.apps.fromName("never-made")).rejects.toBeInstanceOf(NotFoundError);
    expect(local.snapshot().apps.map((a) => a.name)).not.toContain("never-made");
  });

  it("looks environments up and refuses an unknown one", async () => {
    const modal = modalClient(local);
    const env = await modal.environments.fromName("staging");
    expect(env.environmentId).toMatch(/^en-/);
    await expect(modal.environments.fromName("nowhere")).rejects.toBeInstanceOf(NotFoundError);
    await expect(modal.apps.fromName("ferry", { environment: "nowhere", createIfMissing: true })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("answers an injected fault with its status, before or after the effect", async () => {
    const modal = modalClient(local);
    local.injectFault({ rpc: "AppGetOrCreate", code: "RESOURCE_EXHAUSTED", message: "Workspace quota reached" });
    await expect(modal.apps.fromName("quota", { createIfMissing: true })).rejects.toMatchObject({ code: 8, details: "Workspace quota reached" });
    expect(local.snapshot().apps.map((a) => a.name)).not.toContain("quota");
    local.injectFault({ rpc: "AppGetOrCreate", code: "PERMISSION_DENIED", after: true });
    await expect(modal.apps.fromName("made-anyway", { createIfMissing: true })).rejects.toMatchObject({ code: 7 });
    expect(local.snapshot().apps.map((a) => a.name)).toContain("made-anyway");
    expect(local.faults()).toHaveLength(0);
    expect(local.calls().filter((c) => c.injected === true).map((c) => c.status)).toEqual(["RESOURCE_EXHAUSTED", "PERMISSION_DENIED"]);
  });
});
