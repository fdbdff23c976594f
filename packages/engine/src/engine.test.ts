import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEPLOYMENT_SCHEDULING_DEFAULTS, FerryError, NEW_RUN_RETRY_FIELDS, RETRY_DEFAULTS, type Deployment, type FlowRun, type SetState } from "@ferry/core";
import type { EngineApi, RunSource } from "./api.js";
import type { EngineConfig } from "./config.js";
import { childEnv, repositoryDirName, runEngine } from "./engine.js";
import type { LogEntry } from "./log-shipper.js";

const RUN_ID = "0197a3b2-1c2d-7e8f-9a0b-1c2d3e4f5a6b";
const TOKEN = "ghp_secret_token_42";

/** The server, as far as the engine sees it: records every call in order. */
class FakeApi implements EngineApi {
  calls: string[] = [];
  states: SetState[] = [];
  logs: LogEntry[] = [];
  failSetState: FerryError | null = null;
  run: FlowRun;
  deployment: Deployment;
  source: RunSource = { git_url: "https://git.example.com/acme/flows.git", branch: "main", commit: null, username: null, token: TOKEN };

  constructor(over: { run?: Partial<FlowRun>; deployment?: Partial<Deployment> } = {}) {
    const now = "2026-01-01T00:00:00.000Z";
    this.run = {
      id: RUN_ID, name: "brave-otter", deployment_id: "d1", deployment_name: "nightly", flow_name: "etl", work_pool: "managed",
      work_pool_type: "ferry:managed", state: { type: "PENDING", name: "Pending", message: null, timestamp: now }, parameters: {},
      job_variables: {}, job_configuration: { image: "ferry-engine:latest", pip_packages: [], npm_packages: [], env: {} },
      infrastructure_id: null, idempotency_key: null, tags: [], created_at: now, updated_at: now, expected_start_time: null, start_time: null, end_time: null, compute_seconds: 0, ...NEW_RUN_RETRY_FIELDS,
      ...over.run,
    };
    this.deployment = {
      id: "d1", flow_name: "etl", name: "nightly", work_pool: "managed", source: { git_url: this.source.git_url }, entrypoint: "flows/etl.py:etl",
      job_variables: {}, parameters: {}, parameter_schema: null, pull_steps: null, tags: [], description: null, paused: false, ...DEPLOYMENT_SCHEDULING_DEFAULTS, ...RETRY_DEFAULTS, created_at: now, updated_at: now,
      ...over.deployment,
    };
  }

  async getFlowRun() {
    this.calls.push("getFlowRun");
    return this.run;
  }
  async getDeployment() {
    this.calls.push("getDeployment");
    return this.deployment;
  }
  async getSource() {
    this.calls.push("getSource");
    return this.source;
  }
  async getEnv() {
    this.calls.push("getEnv");
    return { env: {}, masked: [] };
  }
  async setState(state: SetState) {
    this.calls.push(`setState ${state.type}`);
    if (this.failSetState) throw this.failSetState;
    this.states.push(state);
    return this.run;
  }
  async writeLogs(logs: LogEntry[]) {
    this.calls.push("writeLogs");
    this.logs.push(...logs);
  }
}

describe("runEngine", () => {
  let scratch: string;
  let printed: string[];
  const config = (): EngineConfig => ({
    apiUrl: "http://ferry.test", flowRunId: RUN_ID, runToken: "frt_run-token-value", cacheDir: null, scratchRoot: scratch,
    shimDir: "/nowhere", env: { PATH: "/usr/bin" }, python: "python3", logFlushIntervalMs: 10, logBatchSize: 100, stopGraceMs: 100,
    logMemoryLimitBytes: 64 * 1024, logSpoolLimitBytes: 1024 * 1024, logRetryMaxDelayMs: 20, logFlushTimeoutMs: 5000,
  });
  const deps = (api: EngineApi, signal = new AbortController().signal) => ({ api, signal, print: (l: string) => void printed.push(l), engineVersion: "test" });

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), "ferry-engine-unit-"));
    printed = [];
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it("does nothing for a run that already ended or is being cancelled", async () => {
    for (const type of ["COMPLETED", "CANCELLING"] as const) {
      const api = new FakeApi({ run: { state: { type, name: type === "COMPLETED" ? "Completed" : "Cancelling", message: null, timestamp: "2026-01-01T00:00:00.000Z" } } });
      expect(await runEngine(config(), deps(api))).toEqual({ kind: "reported", state: null });
      expect(api.calls).toEqual(["getFlowRun"]);
    }
  });

  it("reports CRASHED when setup fails, after sending its log lines, with secrets masked everywhere", async () => {
    const api = new FakeApi({ run: { job_configuration: { pip_packages: [`--index-url=https://bot:${TOKEN}@pypi.example.com`] } } });
    expect(await runEngine(config(), deps(api))).toEqual({ kind: "reported", state: "CRASHED" });
    expect(api.states).toHaveLength(1);
    expect(api.states[0]!.message).toBe("the run's packages are invalid: pip_packages[0] '--index-url=https://bot:***@pypi.example.com' looks like an option; give package names or requirement specifiers only");
    expect(api.calls.lastIndexOf("writeLogs")).toBeLessThan(api.calls.indexOf("setState CRASHED"));
    expect(api.logs.at(-1)).toMatchObject({ level: "error", source: "engine", message: expect.stringMatching(/^the run crashed: the run's packages are invalid/) });
    for (const text of [...api.logs.map((l) => l.message), ...printed]) expect(text).not.toContain(TOKEN);
    // Nothing is left behind in the scratch directory.
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("keeps its lines while the server is away, and sends them all before the final state once it is back", async () => {
    const api = new FakeApi({ deployment: { pull_steps: [{ git_clone: { depth: 1 } }] } });
    let failures = 0;
    const write = api.writeLogs.bind(api);
    api.writeLogs = async (logs) => {
      // More failures in a row than the six attempts the engine used to make.
      if (failures++ < 12) throw new FerryError("network", "could not reach the Ferry server");
      await write(logs);
    };
    expect(await runEngine(config(), deps(api))).toEqual({ kind: "reported", state: "CRASHED" });
    expect(api.logs.map((l) => l.message)).toEqual([
      "Ferry engine test: flow run 'brave-otter' of etl/nightly",
      expect.stringMatching(/^the run crashed: the deployment's pull steps are invalid/),
    ]);
    expect(api.calls.lastIndexOf("writeLogs")).toBeLessThan(api.calls.indexOf("setState CRASHED"));
    expect(printed.filter((l) => l.startsWith("[engine] could not send log lines to the server, trying again until it takes them"))).toHaveLength(1);
    expect(printed.filter((l) => l.includes("could not be sent"))).toEqual([]);
  });

  it("reports the final state after a bounded wait when the server never takes its lines", async () => {
    const api = new FakeApi({ deployment: { pull_steps: [{ git_clone: { depth: 1 } }] } });
    api.writeLogs = async () => {
      throw new FerryError("unavailable", "the server answered 503 Service Unavailable");
    };
    expect(await runEngine({ ...config(), logFlushTimeoutMs: 300 }, deps(api))).toEqual({ kind: "reported", state: "CRASHED" });
    expect(printed).toContain("[engine] 2 log lines could not be sent to the server: the server could not take them within 300 ms of the run's end");
  });

  it("exits 0 when the server already decided the run's end", async () => {
    const api = new FakeApi({ deployment: { pull_steps: [{ git_clone: { depth: 1 } }] } });
    api.failSetState = new FerryError("invalid_transition", "flow run x cannot move to CRASHED: it is already CANCELLED, a final state");
    expect(await runEngine(config(), deps(api))).toEqual({ kind: "reported", state: null });
  });

  it("exits non-zero when it cannot report the final state, so the server marks the run from the exit", async () => {
    const api = new FakeApi({ deployment: { pull_steps: [{ git_clone: { depth: 1 } }] } });
    api.failSetState = new FerryError("network", "could not reach the Ferry server");
    const result = await runEngine(config(), deps(api));
    expect(result.kind).toBe("unreported");
    expect(printed.at(-1)).toBe("[engine] could not report CRASHED: could not reach the Ferry server");
  });

  it("exits non-zero when it cannot read its run", async () => {
    const api = new FakeApi();
    api.getFlowRun = async () => {
      throw new FerryError("unauthenticated", "the run token has expired");
    };
    expect((await runEngine(config(), deps(api))).kind).toBe("unreported");
    expect(printed).toEqual([`[engine] cannot read flow run ${RUN_ID}: the run token has expired`]);
  });

  it("reports nothing when stopped before the flow ran", async () => {
    const stop = new AbortController();
    stop.abort();
    const api = new FakeApi();
    expect(await runEngine(config(), deps(api, stop.signal))).toEqual({ kind: "stopped" });
    expect(api.states).toEqual([]);
  });
});

describe("childEnv", () => {
  it("puts the job's env over the engine's and keeps the run's tokens from the flow", () => {
    expect(childEnv({ PATH: "/bin", A: "1", FERRY_RUN_TOKEN: "frt_x", FERRY_BOOTSTRAP_TOKEN: "frb_x", FERRY_FLOW_RUN_ID: "r" }, { A: "2", B: 3, C: null })).toEqual({
      PATH: "/bin", A: "2", B: "3", FERRY_FLOW_RUN_ID: "r",
    });
  });
});

describe("repositoryDirName", () => {
  it("names the clone after the repository", () => {
    expect(repositoryDirName("https://github.com/acme/flows.git")).toBe("flows");
    expect(repositoryDirName("git@github.com:acme/etl-jobs.git")).toBe("etl-jobs");
    expect(repositoryDirName("file:///tmp/some repo/")).toBe("some-repo");
    expect(repositoryDirName("file:///")).toBe("repo");
    expect(repositoryDirName("https://x/node_modules")).toBe("repo");
  });
});
