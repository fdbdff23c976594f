import { FerryClient } from "../api/client.js";
import { FerryError, isFerryError } from "../errors.js";
import {
  ENGINE_ENV,
  warmEngineFits,
  type RunnerBackend,
  type RunnerExit,
  type RunnerInstance,
  type RunnerLaunchSpec,
  type RunnerStarted,
  type RunnerWarmEngine,
  type RunnerWarmEngines,
  type RunnerWarmSpec,
} from "../runner.js";

/**
 * What a fake instance does, read from its env `FAKE_BEHAVIOUR` (the run's `env` job variable):
 * - `complete` (default): reports RUNNING, a log line, then COMPLETED with `{ "ok": true }`, exits 0;
 * - `fail`: reports RUNNING then FAILED, exits 0;
 * - `oom`: killed for memory while installing (no report), like the kernel's OOM killer;
 * - `sleep`: reports RUNNING and runs until stopped;
 * - `exit-no-report`: exits 2 without reporting anything.
 * `FAKE_DURATION_MS` delays the end.
 */
export type FakeBehaviour = "complete" | "fail" | "oom" | "sleep" | "exit-no-report";

interface FakeInstance {
  id: string;
  spec: RunnerLaunchSpec;
  startedAt: string;
  exit?: RunnerExit;
  waiters: Set<() => void>;
  timer?: NodeJS.Timeout;
  stopping: boolean;
}

/**
 * A RunnerBackend whose instances act like Ferry's engine, reporting through the real HTTP API with the
 * run token they were given, so a server's managed path is exercised end to end without Docker. It
 * outlives a server in the same process, so a test can restart the server and see it re-attach.
 */
export class FakeRunnerBackend implements RunnerBackend {
  readonly name = "fake";
  readonly isolated = true;
  readonly launches: RunnerLaunchSpec[] = [];
  readonly stops: { id: string; reason: string }[] = [];
  readonly removed: string[] = [];
  private readonly instances = new Map<string, FakeInstance>();
  /** By flow run id; kept after an instance is removed. */
  private readonly runTokens = new Map<string, string>();
  private counter = 0;
  /** Present with `{ warm: true }`: warm engines that wait in memory. */
  readonly warm?: RunnerWarmEngines;
  /** Warm engines prepared, claimed (with the run each took) and discarded, for assertions. */
  readonly warmLog: { prepared: RunnerWarmEngine[]; claimed: { warmId: string; flowRunId: string; workspaceId: string }[]; discarded: string[] } = { prepared: [], claimed: [], discarded: [] };
  private readonly warmEngines = new Map<string, RunnerWarmSpec>();

  constructor(options: { warm?: boolean } = {}) {
    if (options.warm) {
      this.warm = {
        prepare: async (spec) => {
          const engine = { id: `warm-${++this.counter}`, spec: { ...spec } };
          this.warmEngines.set(engine.id, engine.spec);
          this.warmLog.prepared.push(engine);
          return engine;
        },
        claim: async (warmId, spec) => {
          const warm = this.warmEngines.get(warmId);
          if (!warm) throw new FerryError("not_found", `no warm fake engine ${warmId}`);
          if (!warmEngineFits(warm, spec)) throw new FerryError("conflict", `warm fake engine ${warmId} was made for other runs`);
          const existing = [...this.instances.values()].find((i) => i.spec.flowRunId === spec.flowRunId);
          if (existing) return { id: existing.id, startedAt: existing.startedAt };
          this.warmEngines.delete(warmId);
          this.warmLog.claimed.push({ warmId, flowRunId: spec.flowRunId, workspaceId: spec.workspaceId });
          return this.start(spec);
        },
        discard: async (warmId) => {
          if (this.warmEngines.delete(warmId)) this.warmLog.discarded.push(warmId);
        },
        list: async () => [...this.warmEngines].map(([id, spec]) => ({ id, spec: { ...spec } })),
      };
    }
  }

  async start(spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    const existing = [...this.instances.values()].find((i) => i.spec.flowRunId === spec.flowRunId);
    if (existing) return { id: existing.id, startedAt: existing.startedAt };
    const instance: FakeInstance = { id: `fake-${++this.counter}`, spec, startedAt: new Date().toISOString(), waiters: new Set(), stopping: false };
    this.instances.set(instance.id, instance);
    this.launches.push(spec);
    void this.act(instance);
    return { id: instance.id, startedAt: instance.startedAt };
  }

  async wait(id: string, signal?: AbortSignal): Promise<RunnerExit> {
    const instance = this.instances.get(id);
    if (!instance) throw new FerryError("not_found", `no fake instance ${id}`);
    while (!instance.exit) {
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
      await new Promise<void>((resolve) => {
        const wake = () => {
          instance.waiters.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        instance.waiters.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
    return instance.exit;
  }

  async stop(id: string, reason: string): Promise<void> {
    const instance = this.instances.get(id);
    if (!instance) return;
    this.stops.push({ id, reason });
    instance.stopping = true;
    if (!instance.exit) this.end(instance, 143, false, ["Terminated"]);
  }

  async remove(id: string): Promise<void> {
    const instance = this.instances.get(id);
    if (instance && !instance.exit) this.end(instance, 137, false, []);
    this.instances.delete(id);
    this.removed.push(id);
  }

  async list(): Promise<RunnerInstance[]> {
    return [...this.instances.values()].map((i) => ({
      id: i.id,
      flowRunId: i.spec.flowRunId,
      workspaceId: i.spec.workspaceId,
      running: !i.exit,
      startedAt: i.startedAt,
    }));
  }

  /** The run token the run's instance reports with (exchanged from its bootstrap token), for assertions. */
  runTokenOf(flowRunId: string): string | undefined {
    return this.runTokens.get(flowRunId);
  }

  /** The instance of a run, for assertions. */
  instanceOf(flowRunId: string): { id: string; running: boolean; exit?: RunnerExit } | undefined {
    const i = [...this.instances.values()].find((x) => x.spec.flowRunId === flowRunId);
    return i && { id: i.id, running: !i.exit, exit: i.exit };
  }

  dispose(): void {
    for (const i of this.instances.values()) clearTimeout(i.timer);
  }

  private async act(instance: FakeInstance): Promise<void> {
    const env = instance.spec.env;
    const behaviour = (env.FAKE_BEHAVIOUR ?? "complete") as FakeBehaviour;
    const duration = Number(env.FAKE_DURATION_MS ?? "20");
    const id = env[ENGINE_ENV.flowRunId]!;
    const apiUrl = env[ENGINE_ENV.apiUrl]!;
    let api = new FerryClient({ apiUrl, apiKey: env[ENGINE_ENV.runToken] }).api;
    // Like the engine, keep trying while the server is unreachable (a restart), for up to 30 s.
    const retrying = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn(...args);
        } catch (error) {
          if (!(isFerryError(error) && error.retryable) || attempt >= 60) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const client = {
      api: {
        setFlowRunState: retrying((...args: Parameters<typeof api.setFlowRunState>) => api.setFlowRunState(...args)),
        writeFlowRunLogs: retrying((...args: Parameters<typeof api.writeFlowRunLogs>) => api.writeFlowRunLogs(...args)),
      },
    };
    const later = (fn: () => void) => {
      instance.timer = setTimeout(fn, duration);
    };
    try {
      if (behaviour === "oom") return later(() => this.end(instance, 137, true, ["Installing collected packages: numpy", "Killed"]));
      if (behaviour === "exit-no-report") return later(() => this.end(instance, 2, false, ["Traceback (most recent call last):", "ImportError: no module named ferry"]));
      // Like the engine, trade the single-use bootstrap token for the run token before anything else.
      const bootstrap = env[ENGINE_ENV.bootstrapToken];
      if (bootstrap) {
        const exchange = retrying(new FerryClient({ apiUrl }).api.exchangeRunBootstrapToken);
        const runToken = (await exchange({ body: { bootstrap_token: bootstrap } })).run_token;
        this.runTokens.set(id, runToken);
        api = new FerryClient({ apiUrl, apiKey: runToken }).api;
      } else {
        const given = env[ENGINE_ENV.runToken];
        if (given) this.runTokens.set(id, given);
      }
      await client.api.setFlowRunState({ params: { id }, body: { type: "RUNNING" } });
      await client.api.writeFlowRunLogs({ params: { id }, body: { logs: [{ message: `hello from ${behaviour}`, source: "flow" }] } });
      if (behaviour === "sleep") return;
      later(() => {
        void (async () => {
          if (instance.stopping) return;
          if (behaviour === "fail") {
            await client.api.writeFlowRunLogs({ params: { id }, body: { logs: [{ level: "error", message: "ValueError: bad day", source: "flow" }] } });
            await client.api.setFlowRunState({ params: { id }, body: { type: "FAILED", message: "ValueError: bad day" } });
          } else {
            await client.api.setFlowRunState({ params: { id }, body: { type: "COMPLETED", result: { ok: true } } });
          }
          this.end(instance, 0, false, ["done"]);
        })().catch(() => this.end(instance, 1, false, ["could not report"]));
      });
    } catch {
      this.end(instance, 1, false, ["could not report"]);
    }
  }

  private end(instance: FakeInstance, exitCode: number, oomKilled: boolean, tail: string[]): void {
    if (instance.exit) return;
    clearTimeout(instance.timer);
    instance.exit = { exitCode, oomKilled, startedAt: instance.startedAt, finishedAt: new Date().toISOString(), tail };
    for (const wake of [...instance.waiters]) wake();
  }
}
