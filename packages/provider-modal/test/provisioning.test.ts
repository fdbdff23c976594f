import { provisionerConformanceChecks, type ProvisionerConformanceHarness } from "@ferry/provider-kit/conformance";
import { startModalLocal, type ModalLocal } from "@ferry/modal-local";
import { ModalClient } from "modal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModalProvisioner } from "../src/provisioning/modal-provisioner.js";
import type { TokenSources } from "../src/provisioning/modal-token.js";
import { sdkClients, type ModalClientFactory } from "../src/modal-clients.js";

// The modal:push provisioner with the official SDK against @ferry/modal-local (sandboxes in memory).
let local: ModalLocal;

beforeAll(async () => {
  local = await startModalLocal({ docker: null });
});

afterAll(async () => {
  await local?.close();
});

const envSources = (token: { tokenId: string; tokenSecret: string }, extra: Record<string, string> = {}): TokenSources => ({
  env: { MODAL_TOKEN_ID: token.tokenId, MODAL_TOKEN_SECRET: token.tokenSecret, ...extra },
  configPath: "/nonexistent/.modal.toml",
  readConfig: () => null,
});

/** A client of the SDK for the test's own calls (seeding), on `local`. */
function sdkClient(on: ModalLocal): ModalClient {
  return sdkClients(on.url)({ token: on.token, environment: null });
}

/**
 * Each check gets a fresh server: a fresh, empty Modal workspace. A step's failure is its first write
 * refused (PERMISSION_DENIED, as Modal answers a token without the right). The refusal is made by a
 * gRPC middleware of the SDK (its `grpcMiddleware` option) because observing reads with the same RPCs
 * as the steps write (AppGetOrCreate looks an app up, or creates it): only the write is refused.
 */
async function harness(): Promise<ProvisionerConformanceHarness> {
  const fresh = await startModalLocal({ docker: null });
  const armed = new Set<string>();
  const isWriteOf = (step: string, path: string, request: { objectCreationType?: number }) =>
    (step === "token" && path.endsWith("/EnvironmentGetOrCreate")) || (step === "app" && path.endsWith("/AppGetOrCreate") && request.objectCreationType === 1);
  const refuse: NonNullable<ConstructorParameters<typeof ModalClient>[0]>["grpcMiddleware"] = [
    async function* refuseArmedWrite(call, options) {
      for (const step of armed) {
        if (isWriteOf(step, call.method.path, call.request as { objectCreationType?: number })) {
          armed.delete(step);
          throw Object.assign(new Error(`${call.method.path} PERMISSION_DENIED: refused by the test`), { name: "ClientError", code: 7, details: `refused by the test (${step})` });
        }
      }
      return yield* call.next(call.request, options);
    },
  ];
  const failingWrites: ModalClientFactory = (settings) => {
    const saved = process.env.MODAL_SERVER_URL;
    process.env.MODAL_SERVER_URL = fresh.url;
    try {
      return new ModalClient({ ...(settings.token ?? {}), ...(settings.environment ? { environment: settings.environment } : {}), logLevel: "error", grpcMiddleware: refuse });
    } finally {
      if (saved === undefined) delete process.env.MODAL_SERVER_URL;
      else process.env.MODAL_SERVER_URL = saved;
    }
  };
  return {
    provisioner: createModalProvisioner({ sources: envSources(fresh.token), clients: failingWrites }),
    snapshot: async () => {
      const s = fresh.snapshot();
      return { apps: s.apps.map((a) => a.name).sort(), sandboxes: s.sandboxes.filter((sb) => sb.status !== "finished").map((sb) => sb.id).sort() };
    },
    failAt: (step) => {
      if (step !== "token" && step !== "app") throw new Error(`no first write known for the step ${step}`);
      armed.add(step);
    },
    seedForeign: async () => {
      const modal = sdkClient(fresh);
      const app = await modal.apps.fromName("someone-elses-app", { createIfMissing: true });
      const image = modal.images.fromRegistry("ferry-engine:latest");
      await modal.sandboxes.create(app, image, { command: ["sleep", "600"], tags: { "ferry-pool": "someone-else" } });
    },
    cleanup: () => fresh.close(),
  };
}

describe("the modal:push provisioner against modal-local: Provisioner conformance", () => {
  // Modal's SDK cannot delete an app, and an app carries no tag, so removal keeps the app provisioning
  // made: the check that removal leaves the workspace as it was does not apply (see README).
  const NOT_APPLICABLE = new Set(["removal deletes what provisioning made, in reverse order, and leaves the account as it was"]);
  for (const check of provisionerConformanceChecks) {
    if (NOT_APPLICABLE.has(check.name)) continue;
    it(check.name, () => check.run(harness));
  }
  it("skips exactly the checks it names as not applicable", () => {
    expect(provisionerConformanceChecks.filter((c) => NOT_APPLICABLE.has(c.name)).map((c) => c.name)).toEqual([...NOT_APPLICABLE]);
  });
});

describe("the modal:push provisioner", () => {
  it("stores the user's token as the pool's modal credentials once it is checked, and writes the app into the defaults", async () => {
    const token = local.addToken();
    const provisioner = createModalProvisioner({ serverUrl: local.url, sources: envSources(token) });
    const saved: unknown[] = [];
    const result = await provisioner.apply({ poolName: "p1", options: { app_name: "ferry-p1" }, hasCredentials: false, saveCredentials: async (c) => void saved.push(c) }, () => {});
    expect(saved).toEqual([{ type: "modal", data: { token_id: token.tokenId, token_secret: token.tokenSecret } }]);
    expect(result).toEqual({ jobVariableDefaults: { app_name: "ferry-p1" }, credentials: saved[0] });
    expect(local.snapshot().apps.map((a) => a.name)).toContain("ferry-p1");
  });

  it("keeps the pool's credentials when it has some", async () => {
    const provisioner = createModalProvisioner({ serverUrl: local.url, sources: envSources(local.token) });
    const saved: unknown[] = [];
    const result = await provisioner.apply({ poolName: "p2", options: {}, hasCredentials: true, saveCredentials: async (c) => void saved.push(c) }, () => {});
    expect(saved).toEqual([]);
    expect(result.credentials).toBeUndefined();
  });

  it("refuses a token Modal does not take, with Modal's words and how to make one, before storing anything", async () => {
    const provisioner = createModalProvisioner({ serverUrl: local.url, sources: envSources({ tokenId: "ak-Unknown000", tokenSecret: "as-UnknownSecret000" }) });
    const saved: unknown[] = [];
    const error = await provisioner.apply({ poolName: "p3", options: {}, hasCredentials: false, saveCredentials: async (c) => void saved.push(c) }, () => {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "provider_auth", message: expect.stringContaining("Modal did not accept the token") });
    expect((error as Error).message).toContain("modal token new");
    expect((error as Error).message).not.toContain("as-UnknownSecret000");
    expect(saved).toEqual([]);
  });

  it("explains how to make a token when there is none", async () => {
    const provisioner = createModalProvisioner({ serverUrl: local.url, sources: { env: {}, configPath: "/home/u/.modal.toml", readConfig: () => null } });
    await expect(provisioner.plan({ poolName: "p4", options: {}, hasCredentials: false })).rejects.toMatchObject({
      code: "provider_auth",
      message: expect.stringContaining("modal token new"),
    });
  });

  it("reads the active profile of ~/.modal.toml", async () => {
    const token = local.addToken();
    const toml = `[other]\ntoken_id = "ak-x"\ntoken_secret = "as-x"\n[mine]\ntoken_id = "${token.tokenId}"\ntoken_secret = "${token.tokenSecret}"\nactive = true\n`;
    const provisioner = createModalProvisioner({ serverUrl: local.url, sources: { env: {}, configPath: "/home/u/.modal.toml", readConfig: () => toml } });
    const saved: { data: Record<string, string> }[] = [];
    await provisioner.apply({ poolName: "p5", options: {}, hasCredentials: false, saveCredentials: async (c) => void saved.push(c) }, () => {});
    expect(saved[0]?.data.token_id).toBe(token.tokenId);
  });

  it("deprovision terminates the pool's leftover sandboxes in its app, and no other pool's", async () => {
    const modal = sdkClient(local);
    const app = await modal.apps.fromName("ferry-removal", { createIfMissing: true });
    const image = modal.images.fromRegistry("ferry-engine:latest");
    const mine = await modal.sandboxes.create(app, image, { command: ["sleep", "600"], tags: { "ferry-pool": "gone" } });
    const theirs = await modal.sandboxes.create(app, image, { command: ["sleep", "600"], tags: { "ferry-pool": "other" } });
    const provisioner = createModalProvisioner({ serverUrl: local.url, sources: envSources(local.token) });
    const input = { poolName: "gone", options: { app_name: "ferry-removal" } };
    const plan = await provisioner.planRemoval(input);
    expect(plan.filter((s) => s.action === "delete").map((s) => s.name)).toEqual([mine.sandboxId]);
    expect(plan.find((s) => s.name === theirs.sandboxId)).toMatchObject({ action: "keep", detail: "not tagged ferry-pool=gone: left alone" });
    expect(plan.find((s) => s.resource === "Modal app")).toMatchObject({ action: "keep" });
    await provisioner.remove(input, () => {});
    expect(local.sandbox(mine.sandboxId)?.terminateRequested).toBe(true);
    expect(local.sandbox(theirs.sandboxId)?.status).toBe("running");
    await theirs.terminate();
  });
});
