import { afterAll, beforeAll, expect, it } from "vitest";
import type { FlowRun } from "@ferry/core";
import { startTestServer, type TestServer } from "../support/test-server.js";
import type { StoreKind } from "../support/databases.js";

const R = "\uFFFD";

/** Log lines as any client may send them, stored on `kind`'s store. */
export function logIngestionSuite(kind: StoreKind): void {
  let t: TestServer;
  let run: FlowRun;

  beforeAll(async () => {
    t = await startTestServer(kind);
    await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
    const { deployment } = await t.client.api.applyDeployment({
      body: { flow_name: "etl", name: "logs", work_pool: "push", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
    });
    run = (await t.client.api.createFlowRun({ params: { id: deployment.id }, body: {} })).flow_run;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const messagesOf = async (id: string) => (await t.client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000 } })).items;

  it("stores a batch whose lines hold NUL characters and lone surrogates, replacing only those characters", async () => {
    // PostgreSQL refuses NUL in text, so one such line used to fail the whole batch with a 500.
    const logs = [
      { message: "before" },
      { message: "a NUL \u0000 in the middle\u0000" },
      { message: "half a pair \uD83D here, the other half \uDEA2 there, a whole one \uD83D\uDEA2" },
      { message: "source with a NUL", source: "tool\u0000x" },
      { message: "after" },
    ];
    const { written } = await t.client.api.writeFlowRunLogs({ params: { id: run.id }, body: { logs } });
    expect(written).toBe(5);
    const stored = (await messagesOf(run.id)).filter((l) => l.source !== "ferry" && l.source !== "fake:push");
    expect(stored.map((l) => l.message)).toEqual([
      "before",
      `a NUL ${R} in the middle${R}`,
      `half a pair ${R} here, the other half ${R} there, a whole one \uD83D\uDEA2`,
      "source with a NUL",
      "after",
    ]);
    expect(stored[3]!.source).toBe(`tool${R}x`);
  });
}
