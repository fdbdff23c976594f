import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry } from "@ferry/core";
import { FakeComputeProvider, rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";
import { KEYED_PLUGIN, testRegistry } from "../support/test-server.js";

const SECRET = "k3y-s3cr3t-value-that-must-never-leave-the-server";

/**
 * An operator removes a provider from FERRY_PROVIDERS and restarts: what was made with its types stays
 * in the store. It must still be listed, shown and deleted, and never answer 500.
 */
export function pluginRemovedSuite(kind: StoreKind): void {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("lists, shows and deletes the credentials and pool of the removed plugin's types, refuses new ones, and crashes their runs saying what to add", async () => {
    const home = mkdtempSync(join(tmpdir(), "ferry-removed-"));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const db = kind === "postgres" ? await freshDatabase() : null;
    if (db) cleanups.push(() => db.drop());
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: db?.url ?? null, store: "pglite", logLevel: "silent", providers: [], sweepIntervalMs: 600_000 });
    const start = (registry: PoolTypeRegistry) => startServer(config, { registry, runner: null });

    const providers = [new FakeComputeProvider(), new FakeComputeProvider({ type: "keyed:push", credentialsType: "keypair" })];
    cleanups.push(() => providers.forEach((p) => p.dispose()));
    const first: RunningServer = await start(testRegistry(providers[0]!, providers[1]!));
    let firstOpen = true;
    cleanups.push(() => (firstOpen ? first.close() : undefined));
    const apiKey = first.bootstrap!.apiKey;
    const before = new FerryClient({ apiUrl: first.url, apiKey });
    await before.api.createCredentials({ body: { name: "team-keys", type: "keypair", data: { key_id: "KEYID-1", secret_key: SECRET } } });
    await before.api.createWorkPool({ body: { name: "keyed", type: "keyed:push", credentials: "team-keys", paused: true } });
    const { deployment } = await before.api.applyDeployment({
      body: { flow_name: "etl", name: "keyed", work_pool: "keyed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl" },
    });
    const { flow_run } = await before.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    expect((await before.api.listWorkPoolTypes()).items.map((t) => t.plugin)).toContain(KEYED_PLUGIN);
    await first.close();
    firstOpen = false;

    // The same store, now without the plugin that brought keyed:push and keypair credentials.
    const second = await start(new PoolTypeRegistry());
    cleanups.push(() => second.close());
    const client = new FerryClient({ apiUrl: second.url, apiKey });
    expect((await client.api.listWorkPoolTypes()).items.map((t) => t.type)).toEqual(["ferry:managed"]);
    expect((await client.api.listCredentialTypes()).items.map((t) => t.type)).toEqual(["git"]);

    const listed = (await client.api.listCredentials()).items;
    expect(listed).toHaveLength(1);
    const shown = await client.api.getCredentials({ params: { name: "team-keys" } });
    for (const c of [listed[0]!, shown]) {
      expect(c).toMatchObject({ name: "team-keys", type: "keypair", data: { key_id: "KEYID-1", secret_key: "********" }, secret_fields: ["secret_key"] });
    }
    expect(JSON.stringify([listed, shown])).not.toContain(SECRET);

    const refused = await rejection(client.api.createCredentials({ body: { name: "more-keys", type: "keypair", data: { key_id: "x", secret_key: "y" } } }));
    expect(refused.code).toBe("validation_failed");
    expect(refused.message).toMatch(/^credentials type 'keypair' is not known on this server; use one of git \(a cloud's type comes with its provider plugin, see FERRY_PROVIDERS\)/);
    const newPool = await rejection(client.api.createWorkPool({ body: { name: "keyed-2", type: "keyed:push" } }));
    expect(newPool.message).toBe("work pool type 'keyed:push' is not available on this server; use one of ferry:managed");

    expect((await client.api.getWorkPool({ params: { name: "keyed" } })).type).toBe("keyed:push");
    // Resuming the pool hands its waiting run to the dispatcher, which can only say what is missing.
    await client.api.updateWorkPool({ params: { name: "keyed" }, body: { paused: false } });
    const crashed = await client.waitForRun(flow_run.id);
    expect(crashed.state).toMatchObject({
      type: "CRASHED",
      message: "pool type 'keyed:push' is not available on this server; add its plugin to FERRY_PROVIDERS and restart",
    });

    const inUse = await rejection(client.api.deleteCredentials({ params: { name: "team-keys" } }));
    expect(inUse.code).toBe("conflict");
    await client.api.deleteDeployment({ params: { id: deployment.id } });
    await client.api.deleteWorkPool({ params: { name: "keyed" } });
    await client.api.deleteCredentials({ params: { name: "team-keys" } });
    expect((await client.api.listCredentials()).items).toEqual([]);
  });
}
