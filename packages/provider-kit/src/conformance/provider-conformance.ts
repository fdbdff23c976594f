import {
  idempotencyKeyForRun,
  isFerryError,
  isFinalStatus,
  newId,
  renderJobConfiguration,
  resolveJobVariables,
  validateBaseJobTemplate,
  type ComputeProvider,
  type InfrastructureRef,
  type InfrastructureStatus,
  type SubmitRequest,
  type SubmitResult,
} from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { describe, expect, it } from "vitest";
import { containsSecret } from "../secrets.js";
import type { ConformanceCheck, ProviderConformanceHarness as Harness } from "./harness.js";

/**
 * The behaviour every ComputeProvider owes the control plane. Each provider package runs it against its
 * cloud's local stand-in with a one-line test file; the kit runs it against core's fake and small fakes
 * of its own, and shows it fails on broken providers.
 */
export function describeProviderConformance(name: string, setup: () => Promise<Harness>, options: { timeoutMs?: number } = {}): void {
  describe(`${name}: ComputeProvider conformance`, () => {
    for (const check of providerConformanceChecks) it(check.name, () => check.run(setup), options.timeoutMs);
  });
}

const check = (name: string, body: (h: Harness) => Promise<void>): ConformanceCheck<Harness> => ({
  name,
  async run(setup) {
    const harness = await setup();
    try {
      await body(harness);
    } finally {
      await harness.cleanup?.();
    }
  },
});

const PHASE_ORDER: Record<InfrastructureStatus["phase"], number> = { pending: 0, running: 1, exited: 2, failed: 2, missing: 2 };

export const providerConformanceChecks: ConformanceCheck<Harness>[] = [
  check("declares a pool type, a description and a valid default template", async ({ provider }) => {
    expect(provider.type).toMatch(/^[a-z0-9-]+:(push|managed)$/);
    expect(provider.description.length).toBeGreaterThan(0);
    expect(() => validateBaseJobTemplate(provider.defaultBaseJobTemplate)).not.toThrow();
  }),

  check("runs a quick job pending → running → exited with exit code 0, never going back", async (h) => {
    const request = submitRequest(h, h.jobs.quick);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
    expect(typeof infrastructureId).toBe("string");
    expect(infrastructureId.length).toBeGreaterThan(0);
    const seen: InfrastructureStatus[] = [];
    const final = await untilFinal(h, refOf(h, request, infrastructureId), (s) => seen.push(s));
    expect(final).toMatchObject({ phase: "exited", exitCode: 0 });
    const ranks = seen.map((s) => PHASE_ORDER[s.phase]);
    expect(ranks, `phases seen: ${seen.map((s) => s.phase).join(" → ")}`).toEqual([...ranks].sort((a, b) => a - b));
  }),

  check("reports a job's non-zero exit code", async (h) => {
    const request = submitRequest(h, h.jobs.failing.variables);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
    expect(await untilFinal(h, refOf(h, request, infrastructureId))).toMatchObject({ phase: "exited", exitCode: h.jobs.failing.exitCode });
  }),

  check("reports a job the cloud cannot start as failed, with the cloud's reason", async (h) => {
    const request = submitRequest(h, h.jobs.unstartable.variables);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
    const final = await untilFinal(h, refOf(h, request, infrastructureId));
    expect(final.phase).toBe("failed");
    expect(final.message).toMatch(h.jobs.unstartable.reason);
  }),

  check("starts one job when the same run is submitted twice", async (h) => {
    const before = await h.startedJobs();
    const request = submitRequest(h, h.jobs.quick);
    const first = await submitLikeDispatcher(h.provider, request);
    const second = await submitLikeDispatcher(h.provider, { ...request });
    expect(second.infrastructureId).toBe(first.infrastructureId);
    expect((await h.startedJobs()) - before).toBe(1);
    await untilFinal(h, refOf(h, request, first.infrastructureId));
  }),

  check("starts one job when the same run is submitted twice at once", async (h) => {
    const before = await h.startedJobs();
    const request = submitRequest(h, h.jobs.quick);
    const [a, b] = await Promise.all([submitLikeDispatcher(h.provider, request), submitLikeDispatcher(h.provider, { ...request })]);
    expect(b.infrastructureId).toBe(a.infrastructureId);
    expect((await h.startedJobs()) - before).toBe(1);
    await untilFinal(h, refOf(h, request, a.infrastructureId));
  }),

  check("a restarted provider resubmitting a run gets the job already started, and starts none", async (h) => {
    const before = await h.startedJobs();
    const request = submitRequest(h, h.jobs.quick);
    const first = await submitLikeDispatcher(h.provider, request);
    const restarted = h.restart();
    expect(restarted).not.toBe(h.provider);
    const second = await submitLikeDispatcher(restarted, { ...request });
    expect(second.infrastructureId).toBe(first.infrastructureId);
    expect((await h.startedJobs()) - before).toBe(1);
    await untilFinal({ ...h, provider: restarted }, refOf(h, request, first.infrastructureId));
  }),

  check("reports an unknown job as missing (or not found)", async (h) => {
    const unknown = refOf(h, submitRequest(h, h.jobs.quick), `does-not-exist-${newId()}`);
    try {
      expect((await h.provider.status(unknown)).phase).toBe("missing");
    } catch (error) {
      expect(isFerryError(error), String(error)).toBe(true);
      expect(["not_found", "provider_not_found"]).toContain((error as { code: string }).code);
    }
  }),

  check("stops a running job on cancel, and a second cancel is harmless", async (h) => {
    const request = submitRequest(h, h.jobs.long);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
    const r = refOf(h, request, infrastructureId);
    await until(h, r, (s) => s.phase === "running" || isFinalStatus(s), "running");
    expect((await h.provider.status(r)).phase).toBe("running");
    await h.provider.cancel(r, "cancelled by a test");
    const final = await untilFinal(h, r);
    expect(final.phase === "exited" || final.phase === "failed", JSON.stringify(final)).toBe(true);
    if (final.phase === "exited") expect(final.exitCode).not.toBe(0);
    await expect(h.provider.cancel(r, "again")).resolves.toBeUndefined();
  }),

  check("cancel that fails rejects: a stop the cloud refuses is a classified error, and the job keeps running", async (h) => {
    const request = submitRequest(h, h.jobs.long);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
    const r = refOf(h, request, infrastructureId);
    await until(h, r, (s) => s.phase === "running" || isFinalStatus(s), "running");
    await h.refuseCancel(1);
    let error: unknown;
    try {
      await h.provider.cancel(r, "refused by a test");
    } catch (e) {
      error = e;
    } finally {
      await h.refuseCancel(0);
    }
    expect(isFerryError(error), `a refused stop must reject with a FerryError (the server keeps the run CANCELLING), got ${String(error)}`).toBe(true);
    expect(typeof (error as { retryable: unknown }).retryable).toBe("boolean");
    expect(containsSecret(error, [h.secret])).toBe(false);
    expect((await h.provider.status(r)).phase).toBe("running");
    // The server retries: the next stop the cloud accepts resolves and ends the job.
    await h.provider.cancel(r, "cancelled by a test");
    expect(isFinalStatus(await untilFinal(h, r))).toBe(true);
  }),

  check("cancelling a finished job is harmless: it stays exited", async (h) => {
    const request = submitRequest(h, h.jobs.quick);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
    const r = refOf(h, request, infrastructureId);
    expect(await untilFinal(h, r)).toMatchObject({ phase: "exited", exitCode: 0 });
    await expect(h.provider.cancel(r, "too late")).resolves.toBeUndefined();
    expect(await h.provider.status(r)).toMatchObject({ phase: "exited", exitCode: 0 });
  }),

  check("submits through throttling: a throttled submission fails retryable and starts nothing; then one job", async (h) => {
    const before = await h.startedJobs();
    const request = submitRequest(h, h.jobs.quick);
    // More throttled calls than any provider retries on its own: the submission itself must fail, retryable.
    await h.throttle(1000);
    let error: unknown;
    try {
      await h.provider.submit(request);
    } catch (e) {
      error = e;
    } finally {
      await h.throttle(0);
    }
    expect(isFerryError(error, "provider_throttled"), `expected a provider_throttled FerryError, got ${String(error)}`).toBe(true);
    expect((error as { retryable: boolean }).retryable).toBe(true);
    expect((await h.startedJobs()) - before).toBe(0);
    // A few throttled calls: retried (by the provider or, like the server's dispatcher, by resubmitting).
    await h.throttle(2);
    const { infrastructureId } = await submitLikeDispatcher(h.provider, { ...request });
    await h.throttle(0);
    expect((await h.startedJobs()) - before).toBe(1);
    expect(await untilFinal(h, refOf(h, request, infrastructureId))).toMatchObject({ phase: "exited", exitCode: 0 });
  }),

  check("keeps the credentials' secret out of every error, status and log line", async (h) => {
    if (h.credentials) expect(JSON.stringify(h.credentials), "the harness's credentials must hold its secret").toContain(h.secret);
    const errors: unknown[] = [];
    const failing = async (what: string, call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (error) {
        errors.push(error);
        return;
      }
      if (what) throw new Error(`${what} did not fail`);
    };
    await failing("submitting a job the cloud refuses", () => h.provider.submit(submitRequest(h, h.jobs.refused)));
    await h.throttle(1000);
    await failing("a throttled submission", () => h.provider.submit(submitRequest(h, h.jobs.quick)));
    await h.throttle(0);
    if (h.badCredentials) {
      const bad = { ...h, credentials: h.badCredentials };
      const request = submitRequest(bad, h.jobs.quick);
      await failing("submitting with refused credentials", () => h.provider.submit(request));
      await failing("", () => h.provider.status(refOf(bad, request, `does-not-exist-${newId()}`)));
      await failing("", () => h.provider.cancel(refOf(bad, request, `does-not-exist-${newId()}`), "test"));
    }
    await failing("", () => h.provider.cancel(refOf(h, submitRequest(h, h.jobs.quick), `does-not-exist-${newId()}`), "test"));
    const statuses: InfrastructureStatus[] = [];
    for (const variables of [h.jobs.unstartable.variables, h.jobs.quick]) {
      const request = submitRequest(h, variables);
      const { infrastructureId } = await submitLikeDispatcher(h.provider, request);
      statuses.push(await untilFinal(h, refOf(h, request, infrastructureId), (s) => statuses.push(s)));
    }
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const error of errors) {
      expect(isFerryError(error), `every failure is a FerryError with a code, got ${String(error)}`).toBe(true);
      expect(typeof (error as { retryable: unknown }).retryable).toBe("boolean");
      expect(containsSecret(error, [h.secret]), `the secret is in: ${(error as Error).message}`).toBe(false);
    }
    expect(containsSecret(statuses, [h.secret])).toBe(false);
    const lines = h.logLines?.() ?? [];
    expect(lines.filter((line) => line.includes(h.secret))).toEqual([]);
  }),
];

/** A request for a run of the provider's default template with `jobVariables`, as the dispatcher makes one. */
export function submitRequest(h: Pick<Harness, "provider" | "credentials">, jobVariables: Record<string, unknown>): SubmitRequest {
  const template = h.provider.defaultBaseJobTemplate;
  const jobConfiguration = renderJobConfiguration(template, resolveJobVariables(template, jobVariables));
  const flowRun = fixtureFlowRun(h.provider.type, jobVariables, jobConfiguration);
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials: h.credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_RUN_TOKEN: "frt_conformance" },
  };
}

function refOf(h: Pick<Harness, "credentials">, request: SubmitRequest, infrastructureId: string): InfrastructureRef {
  return { infrastructureId, jobConfiguration: request.jobConfiguration, credentials: h.credentials };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resubmits on retryable failures, as the server's dispatcher does. */
export async function submitLikeDispatcher(provider: ComputeProvider, request: SubmitRequest, attempts = 6): Promise<SubmitResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await provider.submit(request);
    } catch (error) {
      if (!isFerryError(error) || !error.retryable || attempt >= attempts) throw error;
      await pause(50 * attempt);
    }
  }
}

async function until(h: Harness, r: InfrastructureRef, done: (s: InfrastructureStatus) => boolean, what: string, onStatus?: (s: InfrastructureStatus) => void): Promise<InfrastructureStatus> {
  const deadline = Date.now() + (h.timeoutMs ?? 30_000);
  let delay = 10;
  let last: InfrastructureStatus | undefined;
  for (;;) {
    try {
      last = await h.provider.status(r);
      onStatus?.(last);
      if (done(last)) return last;
    } catch (error) {
      // A throttled poll is retried, as the dispatcher does; anything else is the provider's failure.
      if (!isFerryError(error) || !error.retryable) throw error;
    }
    if (Date.now() > deadline) throw new Error(`job ${r.infrastructureId} did not become ${what}; last status ${JSON.stringify(last)}`);
    await pause(delay);
    delay = Math.min(delay * 2, 500);
  }
}

function untilFinal(h: Harness, r: InfrastructureRef, onStatus?: (s: InfrastructureStatus) => void): Promise<InfrastructureStatus> {
  return until(h, r, isFinalStatus, "final", onStatus);
}
