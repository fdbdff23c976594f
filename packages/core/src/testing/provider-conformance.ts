import { describe, expect, it } from "vitest";
import { isFerryError } from "../errors.js";
import { newId } from "../ids.js";
import { renderJobConfiguration, resolveJobVariables, validateBaseJobTemplate } from "../job-template.js";
import { fixtureDeployment, fixtureFlowRun } from "./fixtures.js";
import { idempotencyKeyForRun, isFinalStatus, type ComputeProvider, type InfrastructureRef, type InfrastructureStatus, type SubmitRequest } from "../provider.js";

export interface ProviderConformanceHarness {
  provider: ComputeProvider;
  /** Job variables of a run that finishes quickly with exit code 0. */
  quickJob: Record<string, unknown>;
  /** Job variables of a run that keeps running until cancelled. */
  longJob: Record<string, unknown>;
  credentials?: Record<string, string> | null;
  /** How long a quick run may take on this platform; default 30 s. */
  timeoutMs?: number;
  cleanup?: () => Promise<void> | void;
}

/**
 * The behaviour every ComputeProvider owes the control plane. Each provider package runs it against
 * its implementation (and the platform's local stand-in) with a one-line test file.
 */
export function describeProviderConformance(name: string, setup: () => Promise<ProviderConformanceHarness>): void {
  describe(`${name}: ComputeProvider conformance`, () => {
    const withHarness = (fn: (h: ProviderConformanceHarness) => Promise<void>) => async () => {
      const harness = await setup();
      try {
        await fn(harness);
      } finally {
        await harness.cleanup?.();
      }
    };

    it("declares a pool type, a description and a valid default template", withHarness(async ({ provider }) => {
      expect(provider.type).toMatch(/^[a-z0-9-]+:(push|managed)$/);
      expect(provider.description.length).toBeGreaterThan(0);
      expect(() => validateBaseJobTemplate(provider.defaultBaseJobTemplate)).not.toThrow();
    }));

    it("runs a quick job to exit code 0", withHarness(async (h) => {
      const request = submitRequest(h, h.quickJob);
      const { infrastructureId } = await h.provider.submit(request);
      expect(typeof infrastructureId).toBe("string");
      expect(infrastructureId.length).toBeGreaterThan(0);
      const final = await untilFinal(h, ref(h, request, infrastructureId));
      expect(final).toMatchObject({ phase: "exited", exitCode: 0 });
    }));

    it("starts one job when the same run is submitted twice", withHarness(async (h) => {
      const request = submitRequest(h, h.quickJob);
      const first = await h.provider.submit(request);
      const second = await h.provider.submit({ ...request });
      expect(second.infrastructureId).toBe(first.infrastructureId);
      await untilFinal(h, ref(h, request, first.infrastructureId));
    }));

    it("stops a running job on cancel, and a second cancel is harmless", withHarness(async (h) => {
      const request = submitRequest(h, h.longJob);
      const { infrastructureId } = await h.provider.submit(request);
      const r = ref(h, request, infrastructureId);
      await h.provider.cancel(r, "cancelled by a test");
      const final = await untilFinal(h, r);
      expect(final.phase === "exited" || final.phase === "failed").toBe(true);
      if (final.phase === "exited") expect(final.exitCode).not.toBe(0);
      await expect(h.provider.cancel(r, "again")).resolves.toBeUndefined();
    }));

    it("reports an unknown job as missing or not found", withHarness(async (h) => {
      const request = submitRequest(h, h.quickJob);
      const unknown = ref(h, request, `does-not-exist-${newId()}`);
      try {
        const status = await h.provider.status(unknown);
        expect(status.phase).toBe("missing");
      } catch (error) {
        expect(isFerryError(error)).toBe(true);
        expect(["not_found", "provider_not_found"]).toContain((error as { code: string }).code);
      }
    }));
  });
}

function submitRequest(h: ProviderConformanceHarness, jobVariables: Record<string, unknown>): SubmitRequest {
  const template = h.provider.defaultBaseJobTemplate;
  const variables = resolveJobVariables(template, jobVariables);
  const jobConfiguration = renderJobConfiguration(template, variables);
  const flowRun = fixtureFlowRun(h.provider.type, jobVariables, jobConfiguration);
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials: h.credentials ?? null,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_FLOW_RUN_ID: flowRun.id },
  };
}

function ref(h: ProviderConformanceHarness, request: SubmitRequest, infrastructureId: string): InfrastructureRef {
  return { infrastructureId, jobConfiguration: request.jobConfiguration, credentials: h.credentials ?? null };
}

async function untilFinal(h: ProviderConformanceHarness, r: InfrastructureRef): Promise<InfrastructureStatus> {
  const deadline = Date.now() + (h.timeoutMs ?? 30_000);
  let delay = 10;
  for (;;) {
    const status = await h.provider.status(r);
    if (isFinalStatus(status)) return status;
    if (Date.now() > deadline) throw new Error(`job ${r.infrastructureId} did not finish; last status ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 500);
  }
}
