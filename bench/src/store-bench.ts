import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FerryClient, newId, PoolTypeRegistry, stateChange, type NewFlowRun, type StateType } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer, type ServerConfig } from "@ferry/server";
import { timeCliCommand, type CliOutcome } from "./cli-startup.js";
import { runLoad, type LoadResult } from "./load.js";
import type { BenchOptions, StoreKind } from "./options.js";
import { createBenchDatabase, type BenchDatabase } from "./postgres.js";
import { figures, type RunFigures } from "./figures.js";
import { serverMemory, type ServerMemory } from "./process-memory.js";
import { seedBatches, seedRun, type SeededRun } from "./seed.js";
import { distribution, ratePerSecond, type Distribution } from "./stats.js";
import { LogCollector } from "./server-log.js";
import { TimedFakeProvider } from "./timed-fake-provider.js";

/** One measured batch of created runs, at one number of clients. */
export interface LoadFigures extends RunFigures {
  clients: number;
  runs: number;
  /** Created runs not COMPLETED when the wait ended, by the state they were in. */
  notCompleted: number;
  notCompletedByState: Partial<Record<StateType, number>>;
}

/** Calls of one kind other than create: their latency and rate. */
export interface CallFigures {
  clients: number;
  /** Call sent → response received, ms. */
  call: Distribution;
  perSecond: number;
  errors: number;
  errorMessages: string[];
}

export interface ListFigures extends CallFigures {
  /** The state filter, or null for the unfiltered list. */
  state: StateType | null;
  /** Runs per page asked for, and how many the last call returned. */
  limit: number;
  returned: number;
}

export interface StoreFigures {
  store: StoreKind;
  /** Where the store lived, e.g. the database name. */
  description: string;
  runs: number;
  warmup: number;
  /** One entry per --clients setting, in order. */
  loads: LoadFigures[];
  /** Existing waiting runs moved to CANCELLED (`POST /api/flow-runs/{id}/state`), from the most clients. */
  stateChange: CallFigures;
  /** Runs put into the store in bulk (`Store.insertFlowRuns`) before the start-up and list figures, and how long it took. */
  seededRuns: number;
  seedSeconds: number;
  /** Runs in the store when it was started again (seeded and measured). */
  runsAtStart: number;
  /** 200 of them, newest first: filtered by state (FAILED, 1 in 20), and not. */
  lists: ListFigures[];
  /**
   * Resident set size at the end (the load worker has exited) of the process that ran the server for
   * this store alone, plus the store's child processes (the embedded PostgreSQL), summed.
   */
  rssMiB: number;
  /** The store's child processes' part of `rssMiB`. */
  storeRssMiB: number;
  /** Proportional set size at end of the server and its store processes; null without /proc. */
  pssMiB: number | null;
  /** The same, idle: after the start and the bootstrap, before any run. */
  idleRssMiB: number;
  idleStoreRssMiB: number;
  idlePssMiB: number | null;
  /** The same, the highest seen (every 500 ms) while runs were being created. */
  loadRssMiB: number;
  loadStoreRssMiB: number;
  loadPssMiB: number | null;
  /** startServer on an empty store (the first start: the embedded PostgreSQL's initdb included), ms. */
  startMs: number;
  /** startServer again after a clean stop, with `runsAtStart` runs in the store, until it answered a request, ms. */
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

const LIST_LIMIT = 200;
const SEEDED_POOL = "bench-seeded";

/**
 * Starts a server on `kind`, warms it, measures a batch of created runs per --clients setting and a
 * batch of state changes, puts --list-runs runs into the store, starts it again and times lists; then
 * tears everything down.
 */
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
    const { apiKey, workspaceId } = server.bootstrap;
    const client = new FerryClient({ apiUrl: server.url, apiKey });
    await client.api.createWorkPool({ body: { name: "bench", type: provider.type } });
    // The seeded runs' pool is paused: its waiting runs stay waiting, and nothing dispatches them.
    const seededPool = await client.api.createWorkPool({ body: { name: SEEDED_POOL, type: provider.type, paused: true } });
    const deploy = async (pool: string, name: string) =>
      (
        await client.api.applyDeployment({
          body: { flow_name: "bench", name, work_pool: pool, source: { git_url: "https://github.com/ferry-dev/bench.git" }, entrypoint: "flows/bench.py:noop", job_variables: {} },
        })
      ).deployment;
    const instant = await deploy("bench", "instant");
    const seeded = await deploy(SEEDED_POOL, "history");
    const maxClients = Math.max(...options.clients);
    const target = { apiUrl: server.url, apiKey };
    const createLoad = (runs: number, clients: number) => runLoad({ ...target, operation: { kind: "create", deploymentId: instant.id }, calls: runs, clients });

    if (options.warmup > 0) {
      ctx.progress(`${kind}: warm-up, ${options.warmup} runs`);
      const warm = await createLoad(options.warmup, maxClients);
      if (warm.errors) throw new Error(`warm-up: ${warm.errors} create calls failed, e.g. ${warm.errorMessages[0]}`);
      const left = await waitForCompleted(server, warm.samples.length, options.completionTimeoutMs);
      if (left.missing) throw new Error(`warm-up: ${left.missing} runs did not complete in ${options.completionTimeoutMs / 1000} s (${JSON.stringify(left.byState)})`);
    }

    const underLoad = new MemoryPeak(home);
    const loads: LoadFigures[] = [];
    for (const clients of options.clients) {
      const completedBefore = (await server.store.countFlowRunsByState()).COMPLETED ?? 0;
      ctx.progress(`${kind}: measuring, ${options.runs} runs from ${clients} client(s)`);
      underLoad.start();
      const load = await createLoad(options.runs, clients);
      underLoad.stop();
      ctx.progress(`${kind}: waiting for ${load.samples.length} runs to complete`);
      const left = await waitForCompleted(server, completedBefore + load.samples.length, options.completionTimeoutMs);
      const endTimes = await completionTimes(client, new Set(load.samples.map((s) => s.flowRunId)));
      loads.push({ clients, runs: options.runs, ...figures(load, provider.submittedAt, endTimes), notCompleted: left.missing, notCompletedByState: left.byState });
    }

    ctx.progress(`${kind}: state changes, ${options.runs} waiting runs cancelled from ${maxClients} client(s)`);
    const waiting = Array.from({ length: options.runs }, () => newId());
    const now = Date.now();
    await server.store.insertFlowRuns(
      waiting.map((id, i) => seededInput(id, `bench-waiting-${i}`, { workspaceId, pool: seededPool, deployment: seeded }, { states: [stateChange("SCHEDULED")], createdAt: new Date(now - 120_000).toISOString() })),
    );
    const stateChanges = callFigures(
      maxClients,
      await runLoad({ ...target, operation: { kind: "set-state", runIds: waiting, type: "CANCELLED", message: "cancelled by the bench" }, calls: waiting.length, clients: maxClients }),
    );

    ctx.progress(`${kind}: putting ${options.listRuns} runs into the store`);
    const seedStarted = performance.now();
    for (const [first, count] of seedBatches(options.listRuns)) {
      const batch = Array.from({ length: count }, (_, k) => {
        const i = first + k;
        return seededInput(newId(), `bench-history-${i}`, { workspaceId, pool: seededPool, deployment: seeded }, seedRun(i, options.listRuns, now));
      });
      await server.store.insertFlowRuns(batch);
      // The seeded runs stand for 30 days of the server's life, through which its maintenance pass (every
      // 5 minutes; PGlite has no autovacuum) kept statistics current: without it, PGlite keeps planning
      // each history row's foreign-key check as a scan of the small table it once was, and every batch
      // takes longer than the last. Nothing on PostgreSQL, whose autovacuum does it.
      await server.store.maintain();
      if ((first + count) % 10_000 === 0) ctx.progress(`${kind}: ${first + count} runs in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const runsAtStart = Object.values(await server.store.countFlowRunsByState()).reduce((a, b) => a + (b ?? 0), 0);

    ctx.progress(`${kind}: starting the server again with ${runsAtStart} runs in the store`);
    const restartMs = await restartTime(server, config, registry, log, apiKey, (s) => (server = s));

    const lists: ListFigures[] = [];
    for (const state of ["FAILED", null] as const) {
      ctx.progress(`${kind}: listing ${LIST_LIMIT} runs${state ? ` in ${state}` : ""}, ${options.listCalls} times`);
      const operation = { kind: "list" as const, limit: LIST_LIMIT, ...(state ? { state } : {}) };
      const listTarget = { apiUrl: server!.url, apiKey };
      await runLoad({ ...listTarget, operation, calls: 1, clients: 1 });
      const load = await runLoad({ ...listTarget, operation, calls: options.listCalls, clients: 1 });
      lists.push({ ...callFigures(1, load), state, limit: LIST_LIMIT, returned: Number(load.samples.at(-1)?.flowRunId ?? 0) });
    }

    const memory = process.memoryUsage();
    const atEnd = serverMemory(home);

    let cli: CliOutcome[] | null = null;
    if (options.cliPath) {
      ctx.progress(`${kind}: timing the CLI, ${options.cliIterations} runs per command`);
      const cliTarget = {
        cliPath: options.cliPath,
        iterations: options.cliIterations,
        // A private FERRY_HOME: the user's profiles must neither be read nor changed.
        env: { ...ctx.baseEnv, FERRY_API_URL: server!.url, FERRY_API_KEY: apiKey, FERRY_HOME: join(home, "cli") },
      };
      cli = [await timeCliCommand(cliTarget, ["--version"]), await timeCliCommand(cliTarget, ["work-pool", "ls", "--json"])];
    }

    const peak = underLoad.peak ?? atEnd;
    return {
      store: kind,
      description: server!.storeDescription,
      runs: options.runs,
      warmup: options.warmup,
      loads,
      stateChange: stateChanges,
      seededRuns: options.listRuns,
      seedSeconds,
      runsAtStart,
      lists,
      rssMiB: atEnd.rssMiB,
      storeRssMiB: atEnd.storeRssMiB,
      pssMiB: atEnd.pssMiB,
      idleRssMiB: idle.rssMiB,
      idleStoreRssMiB: idle.storeRssMiB,
      idlePssMiB: idle.pssMiB,
      loadRssMiB: peak.rssMiB,
      loadStoreRssMiB: peak.storeRssMiB,
      loadPssMiB: underLoad.peakPss,
      startMs,
      restartMs,
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

/** A run for the seeded pool's deployment, as the server's create path would store it. */
function seededInput(
  id: string,
  name: string,
  at: { workspaceId: string; pool: { id: string; name: string; type: string }; deployment: { id: string; name: string; flow_name: string } },
  run: SeededRun,
): NewFlowRun {
  return {
    id,
    workspace_id: at.workspaceId,
    name,
    deployment_id: at.deployment.id,
    deployment_name: at.deployment.name,
    flow_name: at.deployment.flow_name,
    work_pool_id: at.pool.id,
    work_pool: at.pool.name,
    work_pool_type: at.pool.type,
    parameters: { day: run.createdAt.slice(0, 10) },
    job_variables: {},
    job_configuration: null,
    tags: [],
    idempotency_key: null,
    prior_states: run.states.slice(0, -1),
    state: run.states.at(-1)!,
    created_at: run.createdAt,
  };
}

function callFigures(clients: number, load: LoadResult): CallFigures {
  const start = load.samples.reduce((min, s) => Math.min(min, s.sentAt), Infinity);
  return {
    clients,
    call: distribution(load.samples.map((s) => s.receivedAt - s.sentAt)),
    perSecond: ratePerSecond(start, load.samples.map((s) => s.receivedAt)),
    errors: load.errors,
    errorMessages: load.errorMessages,
  };
}

/**
 * The server's memory at its highest while it is started: read every 500 ms on the server's own thread
 * (a few /proc reads; the cost is small next to the load).
 */
class MemoryPeak {
  peak: ServerMemory | null = null;
  peakPss: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly home: string) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 500);
  }

  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sample(): void {
    const now = serverMemory(this.home);
    if (!this.peak || now.rssMiB > this.peak.rssMiB) this.peak = now;
    if (now.pssMiB !== null && (this.peakPss === null || now.pssMiB > this.peakPss)) this.peakPss = now.pssMiB;
  }
}

/**
 * Stops `server` cleanly and times a start on the same store until it answers an API request; the new
 * server replaces it (via `swap`).
 */
async function restartTime(
  server: RunningServer,
  config: ServerConfig,
  registry: PoolTypeRegistry,
  log: LogCollector,
  apiKey: string,
  swap: (s: RunningServer | null) => void,
): Promise<number> {
  await server.close();
  swap(null);
  const started = performance.now();
  const again = await startServer(config, { registry, logStream: log });
  swap(again);
  await new FerryClient({ apiUrl: again.url, apiKey }).api.listWorkPools({});
  return performance.now() - started;
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
