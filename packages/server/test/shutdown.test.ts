import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry } from "@ferry/core";
import { FakeComputeProvider } from "@ferry/core/testing";
import { parseServerConfig, startServer } from "../src/index.js";

describe("graceful shutdown", () => {
  it("ends open event streams at once instead of waiting out the grace period", async () => {
    const home = mkdtempSync(join(tmpdir(), "ferry-shutdown-"));
    const provider = new FakeComputeProvider();
    const registry = new PoolTypeRegistry();
    registry.registerProvider(provider);
    // A grace far longer than the test's timeout: if close waited for the stream, the test would time out.
    const config = { ...parseServerConfig({}, { home, port: 0, databaseUrl: null, logLevel: "silent", providers: [] }), shutdownGraceMs: 600_000 };
    const server = await startServer(config, { registry, runner: null });
    try {
      const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
      await client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
      const { deployment } = await client.api.applyDeployment({
        body: {
          flow_name: "etl", name: "forever", work_pool: "push", source: { git_url: "https://github.com/acme/flows.git" },
          entrypoint: "etl.py:etl", job_variables: { outcome: "hang" },
        },
      });
      const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
      const controller = new AbortController();
      const seen: string[] = [];
      const following = (async () => {
        for await (const e of client.followRun(flow_run.id, { signal: controller.signal })) seen.push(e.kind);
      })().catch(() => undefined);
      await expect.poll(() => seen.length, { timeout: 60_000 }).toBeGreaterThan(0);
      await server.close();
      controller.abort();
      await following;
      expect(seen).toContain("state");
    } finally {
      provider.dispose();
      rmSync(home, { recursive: true, force: true });
    }
  }, 180_000);
});
