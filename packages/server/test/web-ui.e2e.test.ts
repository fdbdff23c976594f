import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, type FlowRun } from "@ferry/core";
import { postgres } from "../../../test-support/services.js";
import { parseServerConfig, startServer } from "../src/index.js";
import { freshDatabase } from "./support/databases.js";
import { webUiSuite } from "./suites/web-ui.js";

describe("the web UI's server side on PostgreSQL", postgres(), () => webUiSuite("postgres"));

describe("two servers on one PostgreSQL", postgres(), () => {
  it("share sessions, and a run created through one shows on the other's workspace stream", async () => {
    const db = await freshDatabase();
    const homes = [mkdtempSync(join(tmpdir(), "ferry-web-a-")), mkdtempSync(join(tmpdir(), "ferry-web-b-"))];
    const start = (home: string) =>
      startServer(parseServerConfig({}, { home, port: 0, databaseUrl: db.url, logLevel: "warn", providers: [], sweepIntervalMs: 600_000 }), {
        registry: new PoolTypeRegistry(),
        runner: null,
      });
    const a = await start(homes[0]!);
    const b = await start(homes[1]!);
    const controller = new AbortController();
    try {
      const apiKey = a.bootstrap!.apiKey;
      const client = new FerryClient({ apiUrl: a.url, apiKey });
      await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
      const { deployment } = await client.api.applyDeployment({
        body: { flow_name: "etl", name: "two", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
      });
      // Signed in on A, the session works on B.
      const signIn = await fetch(a.url + "/api/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ api_key: apiKey }) });
      const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
      const stream = await fetch(b.url + "/api/events", { headers: { cookie }, signal: controller.signal });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      const { flow_run: run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
      let text = "";
      const deadline = Date.now() + 10_000;
      while (!text.includes(run.id) && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
        if (chunk && !chunk.done) text += new TextDecoder().decode(chunk.value);
      }
      const event = /event: run\ndata: (.*)\n/.exec(text);
      expect(event, text).not.toBeNull();
      expect((JSON.parse(event![1]!) as FlowRun).id).toBe(run.id);
      await client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
    } finally {
      controller.abort();
      await a.close();
      await b.close();
      await db.drop();
      for (const home of homes) rmSync(home, { recursive: true, force: true });
    }
  });
});
