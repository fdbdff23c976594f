import {
  assertValidProvisioner,
  isFerryError,
  parseProvisionOptions,
  type ProvisionedCredentials,
  type ProvisionInput,
  type ProvisionProgress,
  type ProvisionResult,
  type ProvisionStep,
  type RemovalProgress,
} from "@ferry/core";
import { describe, expect, it } from "vitest";
import type { ConformanceCheck, ProvisionerConformanceHarness as Harness } from "./harness.js";

/**
 * The behaviour every Provisioner owes its users: plan changes nothing; apply makes everything and
 * stores a new key at once; apply again changes nothing and makes no second key; a failure at any step
 * stops with what was made and a re-run resumes; removal leaves the account as it was and touches
 * nothing without the pool's tag. Each provider runs it against its cloud's local stand-in.
 */
export function describeProvisionerConformance(name: string, setup: () => Promise<Harness>, options: { timeoutMs?: number } = {}): void {
  describe(`${name}: Provisioner conformance`, () => {
    for (const check of provisionerConformanceChecks) it(check.name, () => check.run(setup), options.timeoutMs);
  });
}

const POOL = "conformance";
const OTHER_POOL = "someone-else";

const check = (name: string, body: (h: Harness, setup: () => Promise<Harness>) => Promise<void>): ConformanceCheck<Harness> => ({
  name,
  async run(setup) {
    const harness = await setup();
    try {
      await body(harness, setup);
    } finally {
      await harness.cleanup?.();
    }
  },
});

/** Records progress and stored credentials in one timeline, so "stored before the next step started" can be checked. */
function recorder() {
  const timeline: string[] = [];
  const events: ProvisionProgress[] = [];
  const saved: ProvisionedCredentials[] = [];
  return {
    events,
    saved,
    timeline,
    onProgress: (e: ProvisionProgress) => {
      events.push(e);
      timeline.push(`${e.step.id}:${e.status}`);
    },
    saveCredentials: async (c: ProvisionedCredentials) => {
      saved.push(c);
      timeline.push("credentials:saved");
    },
    statuses: () => events.filter((e) => e.status !== "started").map((e) => `${e.step.id}:${e.status}`),
  };
}

function input(h: Harness, overrides: Partial<ProvisionInput> = {}): ProvisionInput {
  return { poolName: POOL, options: h.options ?? {}, hasCredentials: false, ...overrides };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

async function applyAll(h: Harness, poolName = POOL): Promise<{ result: ProvisionResult; saved: ProvisionedCredentials[] }> {
  const r = recorder();
  const result = await h.provisioner.apply(input(h, { poolName, saveCredentials: r.saveCredentials }), r.onProgress);
  return { result, saved: r.saved };
}

export const provisionerConformanceChecks: ConformanceCheck<Harness>[] = [
  check("is a valid Provisioner whose options schema accepts no options", async (h) => {
    expect(() => assertValidProvisioner(h.provisioner, "conformance")).not.toThrow();
    expect(parseProvisionOptions(h.provisioner, {})).toEqual({});
  }),

  check("refuses an unknown option before touching anything", async (h) => {
    const before = await h.snapshot();
    const bad = input(h, { options: { ...h.options, no_such_option: "x" } });
    for (const call of [() => h.provisioner.plan(bad), () => h.provisioner.apply(bad, () => {}), () => h.provisioner.planRemoval(bad), () => h.provisioner.remove(bad, () => {})]) {
      const error = await rejectionOf(call());
      expect(isFerryError(error, "validation_failed"), String(error)).toBe(true);
      expect((error as Error).message).toContain("no_such_option");
    }
    expect(await h.snapshot()).toEqual(before);
  }),

  check("plans every step as create on an empty account, and planning changes nothing", async (h) => {
    const before = await h.snapshot();
    const steps = await h.provisioner.plan(input(h));
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.filter((s) => s.action !== "create")).toEqual([]);
    expect(new Set(steps.map((s) => s.id)).size, "step ids are unique").toBe(steps.length);
    expect(await h.snapshot()).toEqual(before);
  }),

  check("applies every planned step in order and stores new credentials before the next step starts", async (h) => {
    const before = await h.snapshot();
    const planned = await h.provisioner.plan(input(h));
    const r = recorder();
    const result = await h.provisioner.apply(input(h, { saveCredentials: r.saveCredentials }), r.onProgress);
    expect(r.statuses()).toEqual(planned.map((s) => `${s.id}:done`));
    expect(r.events.filter((e) => e.status === "started").map((e) => e.step.id)).toEqual(planned.map((s) => s.id));
    expect(r.saved.length).toBeLessThanOrEqual(1);
    if (r.saved.length) {
      expect(result.credentials).toEqual(r.saved[0]);
      // Stored inside the step that made them: that step ends right after, before any other starts.
      const at = r.timeline.indexOf("credentials:saved");
      const maker = r.timeline.slice(0, at).filter((t) => t.endsWith(":started")).at(-1)?.replace(/:started$/, "");
      expect(r.timeline[at + 1], `credentials stored within the step ${maker}`).toBe(`${maker}:done`);
    } else {
      expect(result.credentials).toBeUndefined();
    }
    expect(await h.snapshot()).not.toEqual(before);
  }),

  check("applying again creates nothing and makes no second key", async (h) => {
    const first = await applyAll(h);
    const after = await h.snapshot();
    const again = input(h, { hasCredentials: first.saved.length > 0 });
    expect((await h.provisioner.plan(again)).filter((s) => s.action !== "exists")).toEqual([]);
    const r = recorder();
    const result = await h.provisioner.apply({ ...again, saveCredentials: r.saveCredentials }, r.onProgress);
    expect(r.events.filter((e) => e.status !== "skipped")).toEqual([]);
    expect(r.saved).toEqual([]);
    expect(result.credentials).toBeUndefined();
    expect(result.jobVariableDefaults).toEqual(first.result.jobVariableDefaults);
    expect(await h.snapshot()).toEqual(after);
  }),

  check("fails at any step naming it and what was made, and a re-run resumes to completion with one key", async (_first, setup) => {
    const steps = (await _first.provisioner.plan(input(_first))).map((s) => s.id);
    for (const [k, failing] of steps.entries()) {
      const h = k === 0 ? _first : await setup();
      try {
        await h.failAt(failing);
        const r = recorder();
        const error = await rejectionOf(h.provisioner.apply(input(h, { saveCredentials: r.saveCredentials }), r.onProgress));
        expect(isFerryError(error), `step ${failing}: ${String(error)}`).toBe(true);
        const planned = r.events.filter((e) => e.status === "started").map((e) => e.step);
        const step = planned.at(-1) as ProvisionStep;
        expect(step?.id, `the failure is at step ${failing}`).toBe(failing);
        expect(r.statuses()).toEqual([...steps.slice(0, k).map((id) => `${id}:done`), `${failing}:failed`]);
        const message = (error as Error).message;
        expect(message).toContain(`${step.resource} ${step.name}`);
        expect(message).toMatch(/again/);
        expect((error as { details?: { failed_step?: string } }).details?.failed_step).toBe(failing);

        const resumed = recorder();
        await h.provisioner.apply(input(h, { hasCredentials: r.saved.length > 0, saveCredentials: resumed.saveCredentials }), resumed.onProgress);
        expect(resumed.statuses()).toEqual([...steps.slice(0, k).map((id) => `${id}:skipped`), ...steps.slice(k).map((id) => `${id}:done`)]);
        expect(r.saved.length + resumed.saved.length, `step ${failing}: credentials stored once over both runs`).toBeLessThanOrEqual(1);
        const total = r.saved.length + resumed.saved.length;
        const clean = await h.provisioner.plan(input(h, { hasCredentials: total > 0 }));
        expect(clean.filter((s) => s.action !== "exists")).toEqual([]);
      } finally {
        if (h !== _first) await h.cleanup?.();
      }
    }
  }),

  check("removal deletes what provisioning made, in reverse order, and leaves the account as it was", async (h) => {
    await h.seedForeign();
    const before = await h.snapshot();
    await applyAll(h);
    const plan = await h.provisioner.planRemoval(input(h));
    expect(plan.filter((s) => s.action === "delete").length).toBeGreaterThan(0);
    const events: RemovalProgress[] = [];
    const removed = await h.provisioner.remove(input(h), (e) => void events.push(e));
    expect(removed).toEqual(plan.filter((s) => s.action === "delete"));
    expect(events.filter((e) => e.status === "done").map((e) => e.step)).toEqual(removed);
    expect(await h.snapshot()).toEqual(before);
    expect((await h.provisioner.planRemoval(input(h))).filter((s) => s.action === "delete")).toEqual([]);
  }),

  check("removal touches nothing without the pool's tag, and says what it keeps", async (h) => {
    await h.seedForeign();
    await applyAll(h, OTHER_POOL);
    const before = await h.snapshot();
    const plan = await h.provisioner.planRemoval(input(h));
    expect(plan.filter((s) => s.action === "delete")).toEqual([]);
    for (const step of plan) expect(step.detail, `${step.resource} ${step.name} is kept: the plan says why`).toBeTruthy();
    expect(await h.provisioner.remove(input(h), () => {})).toEqual([]);
    expect(await h.snapshot()).toEqual(before);
  }),
];
