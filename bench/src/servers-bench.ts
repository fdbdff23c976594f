// `npm run servers -w @ferry/bench`: runs per second and create → submit with one, two and three Ferry
// servers on one PostgreSQL database, each server a process of its own (server-process.ts), the clients
// spread over them as a load balancer would. See bench/README.md, "Several servers on one PostgreSQL".
import { fork, type ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { FerryClient } from "@ferry/core";
import { figures, type RunFigures } from "./figures.js";
import { runLoad } from "./load.js";
import { createBenchDatabase } from "./postgres.js";
import type { ServerProcessMessage, ServerProcessRequest } from "./server-process.js";
import { mergeLoads, mergeSubmits, shareLoad } from "./servers-figures.js";

interface Options {
  servers: number[];
  runs: number;
  clients: number;
  warmup: number;
  timeoutMs: number;
  databaseUrl: string;
}

interface ServerCountFigures extends RunFigures {
  servers: number;
  clients: number;
  doubled: number;
  loadBefore: number;
  loadAfter: number;
}

class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly apiKey: string | null,
  ) {}

  static start(databaseUrl: string): Promise<ServerProcess> {
    const child = fork(new URL("./server-process.js", import.meta.url), { env: { ...process.env, FERRY_DATABASE_URL: databaseUrl }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new Promise((resolve, reject) => {
      child.once("message", (m: ServerProcessMessage) => (m.kind === "started" ? resolve(new ServerProcess(child, m.url, m.apiKey)) : reject(new Error(`unexpected ${m.kind}`))));
      child.once("exit", (code) => reject(new Error(`a server process exited with code ${code} before it started`)));
    });
  }

  private ask<K extends ServerProcessMessage["kind"]>(request: ServerProcessRequest, kind: K): Promise<Extract<ServerProcessMessage, { kind: K }>> {
    return new Promise((resolve) => {
      const on = (m: ServerProcessMessage) => {
        if (m.kind !== kind) return;
        this.child.off("message", on);
        resolve(m as Extract<ServerProcessMessage, { kind: K }>);
      };
      this.child.on("message", on);
      this.child.send(request);
    });
  }

  async submits(): Promise<[string, number][]> {
    return (await this.ask({ kind: "submits" }, "submits")).submits;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    await this.ask({ kind: "close" }, "closed");
  }
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      servers: { type: "string", default: "1,2,3" },
      runs: { type: "string", default: "1000" },
      clients: { type: "string", default: "6" },
      warmup: { type: "string", default: "100" },
      "timeout-s": { type: "string", default: "180" },
    },
  });
  const databaseUrl = process.env.FERRY_BENCH_DATABASE_URL || process.env.FERRY_TEST_DATABASE_URL;
  if (!databaseUrl) throw new Error("set FERRY_BENCH_DATABASE_URL (or FERRY_TEST_DATABASE_URL) to a PostgreSQL role that may create databases");
  const whole = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, not '${text}'`);
    return n;
  };
  return {
    servers: values.servers.split(",").map((s) => whole("servers", s.trim())),
    runs: whole("runs", values.runs),
    clients: whole("clients", values.clients),
    warmup: Number(values.warmup),
    timeoutMs: whole("timeout-s", values["timeout-s"]) * 1000,
    databaseUrl,
  };
}

/** Until every created run has been submitted by some server (or the time is up). */
async function collectSubmits(servers: ServerProcess[], ids: Set<string>, timeoutMs: number): Promise<ReturnType<typeof mergeSubmits>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const merged = mergeSubmits(await Promise.all(servers.map((s) => s.submits())));
    if ([...ids].every((id) => merged.submittedAt.has(id)) || Date.now() > until) return merged;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function benchServerCount(count: number, options: Options, progress: (m: string) => void): Promise<ServerCountFigures> {
  const database = await createBenchDatabase(options.databaseUrl);
  const servers: ServerProcess[] = [];
  try {
    // The first alone: it makes the workspace and its key (the others find the store bootstrapped).
    servers.push(await ServerProcess.start(database.url));
    for (let i = 1; i < count; i++) servers.push(await ServerProcess.start(database.url));
    const apiKey = servers[0]!.apiKey!;
    const client = new FerryClient({ apiUrl: servers[0]!.url, apiKey });
    await client.api.createWorkPool({ body: { name: "bench", type: "fake:push" } });
    const { deployment } = await client.api.applyDeployment({
      body: { flow_name: "bench", name: "instant", work_pool: "bench", source: { git_url: "https://github.com/ferry-dev/bench.git" }, entrypoint: "flows/bench.py:noop", job_variables: {} },
    });
    const load = async (runs: number) =>
      mergeLoads(
        await Promise.all(
          shareLoad(runs, options.clients, count).map((share, i) =>
            runLoad({ apiUrl: servers[i]!.url, apiKey, operation: { kind: "create", deploymentId: deployment.id }, calls: share.calls, clients: share.clients }),
          ),
        ),
      );
    if (options.warmup > 0) {
      progress(`${count} server(s): warm-up, ${options.warmup} runs`);
      const warm = await load(options.warmup);
      await collectSubmits(servers, new Set(warm.samples.map((s) => s.flowRunId)), options.timeoutMs);
    }
    progress(`${count} server(s): ${options.runs} runs from ${options.clients} clients`);
    const loadBefore = loadavg()[0]!;
    const measured = await load(options.runs);
    const { submittedAt, doubled } = await collectSubmits(servers, new Set(measured.samples.map((s) => s.flowRunId)), options.timeoutMs);
    return { servers: count, clients: options.clients, ...figures(measured, submittedAt, new Map()), doubled, loadBefore, loadAfter: loadavg()[0]! };
  } finally {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    await database.drop();
  }
}

function table(rows: ServerCountFigures[]): string {
  const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
  const lines = [
    "| servers | clients | runs/s created | runs/s dispatched | create → submit p50 ms | p99 ms | not submitted | submitted twice | load avg (1 min) before → after |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.servers} | ${r.clients} | ${f(r.perSecond.created)} | ${f(r.perSecond.dispatched)} | ${f(r.createToSubmit.p50, 1)} | ${f(r.createToSubmit.p99, 1)} | ${r.notSubmitted} | ${r.doubled} | ${f(r.loadBefore, 1)} → ${f(r.loadAfter, 1)} |`,
    ),
  ];
  return lines.join("\n");
}

const options = parseOptions(process.argv.slice(2));
const progress = (m: string) => process.stderr.write(`[servers] ${m}\n`);
const rows: ServerCountFigures[] = [];
for (const count of options.servers) rows.push(await benchServerCount(count, options, progress));
process.stdout.write(`${table(rows)}\n`);
const failed = rows.filter((r) => r.createErrors > 0 || r.notSubmitted > 0 || r.doubled > 0);
for (const r of failed) process.stdout.write(`${r.servers} server(s): ${r.createErrors} create errors (${r.createErrorMessages[0] ?? ""}), ${r.notSubmitted} not submitted, ${r.doubled} submitted twice\n`);
process.exitCode = failed.length ? 1 : 0;
