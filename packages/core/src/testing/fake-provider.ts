import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { FerryError } from "../errors.js";
import type { BaseJobTemplate } from "../job-template.js";
import type {
  ComputeProvider,
  FerryPlugin,
  InfrastructureRef,
  InfrastructureStatus,
  SubmitRequest,
  SubmitResult,
} from "../provider.js";

export interface FakeProviderOptions {
  /** Pool type served; default `fake:push`. */
  type?: string;
  /**
   * When set, every started task is appended to this file as a JSON line, and tasks started by an
   * earlier process are read back: a test can count starts across a server restart, and a resubmission
   * after a restart finds the task it started before.
   */
  journalFile?: string;
  /**
   * The credentials type the fake's pools need (default none). A plugin must register that type, so
   * only a test that registers the fake itself, beside its own credentials type, sets this.
   */
  credentialsType?: string | null;
}

/** Job variables of the fake pool type: they script what the fake "platform" does with a run. */
export const FAKE_BASE_JOB_TEMPLATE: BaseJobTemplate = {
  variables: {
    type: "object",
    properties: {
      outcome: {
        type: "string",
        enum: ["complete", "exit-1", "fail-to-start", "hang", "submit-error", "throttle-once"],
        default: "complete",
        description: "What the fake platform does with the run",
      },
      duration_ms: { type: "integer", minimum: 0, default: 0, description: "How long the task runs" },
      submit_delay_ms: { type: "integer", minimum: 0, default: 0, description: "How long submit takes" },
      env: { type: "object", additionalProperties: { type: "string" }, default: {} },
    },
  },
  job_configuration: {
    outcome: "{{ outcome }}",
    duration_ms: "{{ duration_ms }}",
    submit_delay_ms: "{{ submit_delay_ms }}",
    env: "{{ env }}",
  },
};

interface FakeTask {
  id: string;
  key: string;
  status: InfrastructureStatus;
  /** Every status the task went through, so a watcher sees each change even when two land in one tick. */
  history: InfrastructureStatus[];
  listeners: Set<() => void>;
  timers: NodeJS.Timeout[];
  env: Record<string, string>;
  credentials: Record<string, string> | null;
}

/**
 * An in-memory compute platform that behaves like a real one where it matters to the control plane:
 * idempotent submission, asynchronous status changes, cancellation, failures to start and throttling.
 * Exported for tests of the server and of anything that drives a provider.
 */
export class FakeComputeProvider implements ComputeProvider {
  readonly type: string;
  readonly description = "A fake platform for tests: runs are scripted by job variables";
  readonly credentialsType: string | null;
  readonly defaultBaseJobTemplate = FAKE_BASE_JOB_TEMPLATE;

  /** Every call of submit, in order, including failed and repeated ones. */
  readonly submitCalls: string[] = [];
  /** Every task actually started: one per run when idempotency holds. */
  readonly started: { key: string; infrastructureId: string; runId: string }[] = [];
  readonly cancelled: { infrastructureId: string; reason: string }[] = [];

  private readonly tasks = new Map<string, FakeTask>();
  private readonly byKey = new Map<string, string>();
  private readonly throttled = new Set<string>();
  private readonly journalFile: string | undefined;
  private counter = 0;

  constructor(options: FakeProviderOptions = {}) {
    this.type = options.type ?? "fake:push";
    this.credentialsType = options.credentialsType ?? null;
    this.journalFile = options.journalFile;
    if (this.journalFile && existsSync(this.journalFile)) {
      for (const line of readFileSync(this.journalFile, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as { key: string; infrastructureId: string; runId: string };
        this.byKey.set(entry.key, entry.infrastructureId);
        // A task of an earlier process: it is reported as finished, as a real platform would by now.
        this.tasks.set(entry.infrastructureId, this.newTask(entry.infrastructureId, entry.key, { phase: "exited", exitCode: 0 }));
      }
    }
  }

  async submit(request: SubmitRequest): Promise<SubmitResult> {
    this.submitCalls.push(request.idempotencyKey);
    const config = request.jobConfiguration as { outcome?: string; duration_ms?: number; submit_delay_ms?: number };
    if (config.submit_delay_ms) await delay(config.submit_delay_ms, request.signal);
    const existing = this.byKey.get(request.idempotencyKey);
    if (existing) return { infrastructureId: existing };
    if (config.outcome === "submit-error") {
      throw new FerryError("provider_error", "fake platform refused the job: invalid task definition", { retryable: false });
    }
    if (config.outcome === "throttle-once" && !this.throttled.has(request.idempotencyKey)) {
      this.throttled.add(request.idempotencyKey);
      throw new FerryError("provider_throttled", "fake platform: rate exceeded");
    }
    const id = `fake-task-${process.pid}-${++this.counter}`;
    const task = this.newTask(id, request.idempotencyKey, { phase: "pending" });
    task.env = { ...request.runtimeEnv };
    task.credentials = request.credentials;
    this.tasks.set(id, task);
    this.byKey.set(request.idempotencyKey, id);
    const entry = { key: request.idempotencyKey, infrastructureId: id, runId: request.flowRun.id };
    this.started.push(entry);
    if (this.journalFile) appendFileSync(this.journalFile, `${JSON.stringify(entry)}\n`);
    this.script(task, config.outcome ?? "complete", config.duration_ms ?? 0);
    return { infrastructureId: id };
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    return this.tasks.get(ref.infrastructureId)?.status ?? { phase: "missing", message: `no task ${ref.infrastructureId}` };
  }

  async *watch(ref: InfrastructureRef, signal: AbortSignal): AsyncIterable<InfrastructureStatus> {
    const task = this.tasks.get(ref.infrastructureId);
    if (!task) {
      yield { phase: "missing", message: `no task ${ref.infrastructureId}` };
      return;
    }
    let seen = 0;
    while (!signal.aborted) {
      while (seen < task.history.length) {
        const status = task.history[seen++]!;
        yield status;
        if (status.phase === "exited" || status.phase === "failed") return;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          task.listeners.delete(wake);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        task.listeners.add(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
  }

  async cancel(ref: InfrastructureRef, reason: string): Promise<void> {
    const task = this.tasks.get(ref.infrastructureId);
    if (!task) throw new FerryError("provider_not_found", `fake platform has no task ${ref.infrastructureId}`);
    this.cancelled.push({ infrastructureId: ref.infrastructureId, reason });
    if (task.status.phase === "exited" || task.status.phase === "failed") return;
    for (const t of task.timers) clearTimeout(t);
    // Stopping is asynchronous on real platforms too.
    setTimeout(() => this.set(task, { phase: "exited", exitCode: 143, message: `stopped: ${reason}` }), 5);
  }

  /** The environment the task was started with: what a process on the platform would see. */
  envOf(infrastructureId: string): Record<string, string> | undefined {
    return this.tasks.get(infrastructureId)?.env;
  }

  /** The credentials the task was submitted with: what a provider would hand its cloud's SDK. */
  credentialsOf(infrastructureId: string): Record<string, string> | null | undefined {
    return this.tasks.get(infrastructureId)?.credentials;
  }

  /** Stops every timer, so a test process can exit. */
  dispose(): void {
    for (const task of this.tasks.values()) for (const t of task.timers) clearTimeout(t);
  }

  private newTask(id: string, key: string, status: InfrastructureStatus): FakeTask {
    return { id, key, status, history: [status], listeners: new Set(), timers: [], env: {}, credentials: null };
  }

  private script(task: FakeTask, outcome: string, durationMs: number): void {
    const at = (ms: number, status: InfrastructureStatus) => task.timers.push(setTimeout(() => this.set(task, status), ms));
    switch (outcome) {
      case "fail-to-start":
        at(1, { phase: "failed", message: "the image could not be pulled: manifest not found" });
        return;
      case "hang":
        at(1, { phase: "running" });
        return;
      case "exit-1":
        at(1, { phase: "running" });
        at(1 + durationMs, { phase: "exited", exitCode: 1, message: "the job's process exited" });
        return;
      default:
        at(1, { phase: "running" });
        at(1 + durationMs, { phase: "exited", exitCode: 0 });
    }
  }

  private set(task: FakeTask, status: InfrastructureStatus): void {
    task.status = status;
    task.history.push(status);
    for (const wake of [...task.listeners]) wake();
  }
}

/** The fake as a plugin module: `FERRY_PROVIDERS=@ferry/core/testing` registers it on a server. */
export const fakeProviderPlugin: FerryPlugin = {
  name: "@ferry/core/testing",
  create(options) {
    return { providers: [new FakeComputeProvider(options as FakeProviderOptions)] };
  },
};

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}
