import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { schemaCacheStats } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer("pglite");
  await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
});
afterAll(async () => {
  await t?.stop();
});

const deploy = (parameterSchema: Record<string, unknown>, parameters: Record<string, unknown>) =>
  t.client.api.applyDeployment({
    body: {
      flow_name: "etl",
      name: "nightly",
      work_pool: "push",
      source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
      entrypoint: "flows/etl.py:etl",
      parameters,
      parameter_schema: parameterSchema,
    },
  });

it("compiles the pool's job template and the deployment's parameter schema once, however many runs are created", async () => {
  const { deployment } = await deploy({ type: "object", properties: { day: { type: "string" } } }, { day: "2026-11-01" });
  await t.client.api.createFlowRun({ params: { id: deployment.id }, body: { job_variables: { outcome: "complete" } } });
  const before = schemaCacheStats();
  const stringify = vi.spyOn(JSON, "stringify");
  let calls: unknown[][];
  try {
    for (let i = 0; i < 20; i++) {
      await t.client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters: { day: `2026-11-${10 + i}` } } });
    }
  } finally {
    calls = [...stringify.mock.calls];
    stringify.mockRestore();
  }
  const after = schemaCacheStats();
  expect(calls.length).toBeGreaterThan(0);
  // The server runs in this process: neither schema was serialised to find its compiled form.
  const schemas = calls.filter(([value]) => {
    const properties = (value as { type?: unknown; properties?: Record<string, unknown> } | null)?.properties;
    return typeof properties === "object" && properties !== null && ("day" in properties || "outcome" in properties);
  });
  expect(schemas).toEqual([]);
  expect(after.misses - before.misses).toBe(0);
  // Per run: the template's variables without and with 'required', and the parameters.
  expect(after.hits - before.hits).toBeGreaterThanOrEqual(60);
});

it("compiles a changed parameter schema anew, and validates runs by it", async () => {
  const { deployment } = await deploy({ type: "object", properties: { day: { type: "integer" } } }, { day: 1 });
  const before = schemaCacheStats();
  const refused = await rejection(t.client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters: { day: "monday" } } }));
  expect(refused.code).toBe("validation_failed");
  expect(refused.message).toMatch(/parameters/);
  expect(schemaCacheStats().misses - before.misses).toBe(1);
  await t.client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters: { day: 3 } } });
  expect(schemaCacheStats().misses - before.misses).toBe(1);
});
