import { FerryError, isFerryError, type ProvisionProgress, type RemovalProgress } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { defineProvisioner, type FoundResource, type ProvisionerDefinition } from "./define-provisioner.js";

/** A two-step definition over a list of names; what each test needs is changed in place. */
function definition(overrides: Partial<ProvisionerDefinition<string[], { made: string[] }>> = {}) {
  const account: string[] = [];
  const calls: string[] = [];
  const def: ProvisionerDefinition<string[], { made: string[] }> = {
    type: "acme:push",
    optionsSchema: { type: "object", additionalProperties: false, properties: { name: { type: "string", description: "a name", pattern: "^[a-z]+$" } } },
    creationOrder: ["box", "key"],
    poolTag: (pool) => `pool=${pool}`,
    open: async () => {
      calls.push("open");
      return account;
    },
    close: () => void calls.push("close"),
    observe: async (session) => ({ made: [...session] }),
    plan: (state, input) => [
      { id: "box", resource: "box", name: input.options.name ?? "box", action: state.made.includes("box") ? "exists" : "create" },
      { id: "key", resource: "key", name: "key", action: input.hasCredentials ? "exists" : "create" },
    ],
    steps: {
      box: async ({ session }) => {
        session.push("box");
        return "made the box";
      },
      key: async ({ session, credentialsMade }) => {
        session.push("key");
        await credentialsMade({ type: "keypair", data: { key_id: "k1" } }, { description: "the new key", discard: async () => void session.splice(session.indexOf("key"), 1), manualFix: "delete k1 by hand" });
      },
    },
    result: () => ({ jobVariableDefaults: { box: "box" } }),
    findForRemoval: async (session) =>
      session.map<FoundResource>((name) => ({ createdBy: name, id: name, resource: name, name, owned: true, remove: async () => void session.splice(session.indexOf(name), 1) })),
    ...overrides,
  };
  return { def, account, calls };
}

const input = { poolName: "p", options: {}, hasCredentials: false };

describe("defineProvisioner", () => {
  it("checks the options against the schema before opening anything", async () => {
    const { def, calls } = definition();
    const p = defineProvisioner(def);
    await expect(p.apply({ ...input, options: { name: "NOT-valid" } }, () => {})).rejects.toMatchObject({ code: "validation_failed" });
    await expect(p.planRemoval({ ...input, options: { nmae: "x" } })).rejects.toThrow(/nmae is not a provisioning option of acme:push \(its options: name\)/);
    expect(calls).toEqual([]);
  });

  it("reports progress with each step's message, returns the result with the stored credentials, and closes", async () => {
    const { def, calls } = definition();
    const events: ProvisionProgress[] = [];
    const saved: unknown[] = [];
    const result = await defineProvisioner(def).apply({ ...input, options: { name: "crate" }, saveCredentials: async (c) => void saved.push(c) }, (e) => void events.push(e));
    expect(events.map((e) => [e.step.id, e.step.name, e.status, e.message])).toEqual([
      ["box", "crate", "started", undefined],
      ["box", "crate", "done", "made the box"],
      ["key", "key", "started", undefined],
      ["key", "key", "done", undefined],
    ]);
    expect(result).toEqual({ jobVariableDefaults: { box: "box" }, credentials: { type: "keypair", data: { key_id: "k1" } } });
    expect(saved).toEqual([result.credentials]);
    expect(calls).toEqual(["open", "close"]);
  });

  it("deletes new credentials it cannot store, and says so", async () => {
    const { def, account } = definition();
    const error = await defineProvisioner(def)
      .apply({ ...input, saveCredentials: async () => Promise.reject(new Error("server unreachable")) }, () => {})
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^provisioning stopped at the key key: could not store the new key, so it was deleted again: server unreachable\. Made by this run before that: box box\./);
    expect(account).toEqual(["box"]);
  });

  it("names the manual fix when the credentials can be neither stored nor deleted", async () => {
    const { def } = definition();
    def.steps.key = async ({ credentialsMade }) =>
      credentialsMade({ type: "keypair", data: {} }, { description: "the new key", discard: async () => Promise.reject(new Error("denied")), manualFix: "delete k1 by hand" });
    const error = await defineProvisioner(def)
      .apply({ ...input, saveCredentials: async () => Promise.reject(new Error("offline")) }, () => {})
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain("could not store the new key (offline), and could not delete it either (denied): delete k1 by hand");
  });

  it("stops at the failed step with what it made, keeping the cause's code, and nothing is rolled back", async () => {
    const { def, account, calls } = definition();
    def.steps.key = async () => {
      throw new FerryError("provider_auth", "not allowed to make keys");
    };
    const events: string[] = [];
    const error = await defineProvisioner(def)
      .apply(input, (e) => void events.push(`${e.step.id}:${e.status}`))
      .catch((e: unknown) => e);
    expect(isFerryError(error, "provider_auth")).toBe(true);
    expect((error as FerryError).message).toBe(
      "provisioning stopped at the key key: not allowed to make keys. Made by this run before that: box box. Nothing is rolled back: run the same command again to resume, what exists is detected and skipped.",
    );
    expect((error as FerryError).details).toEqual({ failed_step: "key", made: [{ id: "box", resource: "box", name: "box" }] });
    expect(events).toEqual(["box:started", "box:done", "key:started", "key:failed"]);
    expect(account).toEqual(["box"]);
    expect(calls).toEqual(["open", "close"]);
  });

  it("wraps a step's plain error as a provider_error", async () => {
    const { def } = definition();
    def.steps.box = async () => {
      throw new TypeError("x is undefined");
    };
    await expect(defineProvisioner(def).apply(input, () => {})).rejects.toMatchObject({ code: "provider_error", message: expect.stringContaining("at the box box: x is undefined") });
  });

  it("stops between steps when the signal aborts", async () => {
    const { def, account } = definition();
    const controller = new AbortController();
    const error = await defineProvisioner(def)
      .apply({ ...input, signal: controller.signal }, (e) => {
        if (e.step.id === "box" && e.status === "done") controller.abort();
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^provisioning stopped at the key key: provisioning was interrupted\. Made by this run before that: box box\./);
    expect(account).toEqual(["box"]);
  });

  it("removes where the pool was provisioned: options from the pool's defaults, under the user's own", async () => {
    const opened: Record<string, string>[] = [];
    const { def } = definition({
      optionsFromPool: (defaults) => ({ name: typeof defaults.box_name === "string" ? defaults.box_name : "" }),
      open: async (options) => {
        opened.push(options);
        return [];
      },
    });
    const p = defineProvisioner(def);
    await p.planRemoval({ poolName: "p", options: {}, poolDefaults: { box_name: "frombox" } });
    await p.planRemoval({ poolName: "p", options: { name: "mine" }, poolDefaults: { box_name: "frombox" } });
    await p.planRemoval({ poolName: "p", options: {}, poolDefaults: {} });
    expect(opened).toEqual([{ name: "frombox" }, { name: "mine" }, {}]);
    // A value the pool's template holds is checked like the user's, and a typo of the user's is still named.
    await expect(p.planRemoval({ poolName: "p", options: {}, poolDefaults: { box_name: "NOT valid" } })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(p.planRemoval({ poolName: "p", options: { nmae: "x" }, poolDefaults: { box_name: "frombox" } })).rejects.toThrow(/nmae is not a provisioning option/);
  });

  it("removes in the reverse order of creation, keeps what is not owned, and says why", async () => {
    const { def, account } = definition();
    account.push("box", "key");
    def.findForRemoval = async (session) => [
      { createdBy: "box", id: "box", resource: "box", name: "box", owned: true, remove: async () => void session.splice(session.indexOf("box"), 1) },
      { createdBy: "box", id: "box", resource: "box", name: "their box", owned: false, remove: async () => Promise.reject(new Error("must not be called")) },
      { createdBy: "key", id: "key", resource: "key", name: "key", owned: true, remove: async () => void session.splice(session.indexOf("key"), 1) },
    ];
    const p = defineProvisioner(def);
    const plan = await p.planRemoval(input);
    expect(plan).toEqual([
      { id: "key", resource: "key", name: "key", action: "delete" },
      { id: "box", resource: "box", name: "box", action: "delete" },
      { id: "box", resource: "box", name: "their box", action: "keep", detail: "not tagged pool=p: left alone" },
    ]);
    const events: RemovalProgress[] = [];
    expect(await p.remove(input, (e) => void events.push(e))).toEqual(plan.slice(0, 2));
    expect(events.map((e) => `${e.step.name}:${e.status}`)).toEqual(["key:started", "key:done", "box:started", "box:done", "their box:skipped"]);
    expect(account).toEqual([]);
  });

  it("stops removal at a failure, saying what it removed", async () => {
    const { def, account } = definition();
    account.push("box", "key");
    def.findForRemoval = async () => [
      { createdBy: "box", id: "box", resource: "box", name: "box", owned: true, remove: async () => Promise.reject(new FerryError("provider_error", "box is in use", { retryable: true })) },
      { createdBy: "key", id: "key", resource: "key", name: "key", owned: true, remove: async () => void account.splice(account.indexOf("key"), 1) },
    ];
    const error = await defineProvisioner(def)
      .remove(input, () => {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "provider_error", retryable: true, message: "removal stopped at the box box: box is in use. Removed before that: key key. Run it again to go on." });
  });

  it("refuses a definition whose steps lack a runner, and a removal of an unknown step", async () => {
    expect(() => defineProvisioner(definition({ creationOrder: ["box", "key", "lid"] }).def)).toThrow(/step 'lid' has no runner/);
    const { def } = definition();
    def.findForRemoval = async () => [{ createdBy: "lid", id: "lid", resource: "lid", name: "lid", owned: true, remove: async () => {} }];
    await expect(defineProvisioner(def).planRemoval(input)).rejects.toMatchObject({ code: "internal" });
  });
});
