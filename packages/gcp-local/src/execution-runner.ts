import type { ContainerHandle, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import { condition, conditionOf, setCondition, type Message, type RunState } from "./run-state.js";
import { memoryMib } from "./quantity.js";
import { durationSeconds, timestamp, timestampMs } from "./time.js";

/** Where an execution's container output goes (Cloud Logging's entries for `cloud_run_job`). */
export interface ExecutionOutput {
  append(entry: { project: string; location: string; job: string; execution: string; taskIndex: number; attempt: number; line: OutputLine }): void;
}

export interface ExecutionRunnerOptions {
  state: RunState;
  runtime: ContainerRuntime | null;
  /** Why containers cannot run, when `runtime` is null. */
  runtimeUnavailable: string;
  output: ExecutionOutput;
  /** An injected failure to get the execution its resources (reason, message), or null: see ExecutionFailures. */
  resourceFailure: (execution: Message) => { reason?: string; message: string } | null;
  /** A Secret Manager reference's value (`valueSource.secretKeyRef`). */
  secret: (ref: Message) => string | undefined;
  /** Seconds between SIGTERM and SIGKILL when an execution is cancelled or times out (Cloud Run: 10). */
  stopGraceSeconds: number;
  /** How long an execution stays pending (waiting for resources) before its containers start. */
  startDelayMs: number;
  now: () => number;
  /** Called when an execution has ended (succeeded, failed or cancelled). */
  ended: (execution: Message) => void;
}

interface Attempt {
  handle: ContainerHandle | null;
  cancelled: boolean;
}

function shortId(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/** The container's environment: the template's values (secrets resolved), then what Cloud Run adds for every task. */
export function taskEnvironment(container: Message, execution: Message, task: Message, attempt: number, secret: (ref: Message) => string | undefined = () => undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of (container.env as Message[] | undefined) ?? []) {
    const value = typeof variable.value === "string" ? variable.value : variable.valueSource?.secretKeyRef ? secret(variable.valueSource.secretKeyRef as Message) : undefined;
    if (value !== undefined) env[variable.name as string] = value;
  }
  env.CLOUD_RUN_JOB = execution.job as string;
  env.CLOUD_RUN_EXECUTION = shortId(execution.name as string);
  env.CLOUD_RUN_TASK_INDEX = String(task.index ?? 0);
  env.CLOUD_RUN_TASK_ATTEMPT = String(attempt);
  env.CLOUD_RUN_TASK_COUNT = String(execution.taskCount ?? 1);
  return env;
}

/** What the task's last attempt ended with, in Cloud Run's words. */
export function attemptResult(exitCode: number, oomKilled: boolean, timedOut: boolean, memoryLimit: string): { message: string; result: Message } {
  const signal = exitCode > 128 && exitCode <= 128 + 64 ? exitCode - 128 : 0;
  let message = "The container exited with an error.";
  if (oomKilled) message = `Memory limit of ${memoryLimit} exceeded. Consider increasing the memory limit.`;
  else if (timedOut) message = "The task timed out and was terminated.";
  else if (exitCode === 0) message = "";
  const result: Message = { exitCode, status: exitCode === 0 && !timedOut ? { code: 0, message: "" } : { code: timedOut ? 4 : 2, message } };
  if (signal > 0) result.termSignal = signal;
  return { message, result };
}

/**
 * Runs Cloud Run executions: each task as a container (Cloud Run's command is the entrypoint, args the
 * command), retried up to the template's max_retries, stopped at its timeout, and reported through the
 * execution's and tasks' conditions and counts as Cloud Run reports them.
 */
export class ExecutionRunner {
  private readonly attempts = new Map<string, Attempt>();
  private readonly cancelling = new Set<string>();

  constructor(private readonly options: ExecutionRunnerOptions) {}

  /** Starts the execution's tasks in the background; `ended` is called once it is over. */
  start(execution: Message): void {
    // Never within the call that made the execution: RunJob's first answer is a running operation, as Cloud Run's is.
    const begin = () => {
      // Deleted (or cancelled) while it waited for resources.
      if (!this.options.state.executions.has(execution.name as string) || execution.completionTime !== undefined) return;
      void this.run(execution).catch((error: unknown) => {
        this.finish(execution, "CONDITION_FAILED", { message: `gcp-local failed to run the execution: ${(error as Error).message}` });
      });
    };
    if (this.options.startDelayMs > 0) setTimeout(begin, this.options.startDelayMs);
    else setImmediate(begin);
  }

  /** SIGTERM, then SIGKILL after the grace, to every running task; the execution ends as cancelled. */
  async cancel(executionName: string): Promise<void> {
    const execution = this.options.state.executions.get(executionName);
    if (execution === undefined || execution.completionTime !== undefined) return;
    this.cancelling.add(executionName);
    setCondition(execution, condition("Completed", "CONDITION_RECONCILING", this.options.now(), { executionReason: "CANCELLING", message: "The execution is being cancelled." }));
    const stops: Promise<void>[] = [];
    for (const [key, attempt] of this.attempts) {
      if (!key.startsWith(`${executionName}/`)) continue;
      attempt.cancelled = true;
      if (attempt.handle !== null) stops.push(attempt.handle.stop(this.options.stopGraceSeconds).catch(() => undefined));
    }
    await Promise.all(stops);
    await this.settled(executionName);
  }

  /** Stops the containers of an execution that is going away (its job or itself deleted), at once. */
  async discard(executionName: string): Promise<void> {
    this.cancelling.add(executionName);
    const stops: Promise<void>[] = [];
    for (const [key, attempt] of this.attempts) {
      if (!key.startsWith(`${executionName}/`)) continue;
      attempt.cancelled = true;
      if (attempt.handle !== null) stops.push(attempt.handle.stop(0).then(() => attempt.handle?.remove()).catch(() => undefined));
    }
    await Promise.all(stops);
  }

  private async settled(executionName: string): Promise<void> {
    while (this.options.state.executions.get(executionName)?.completionTime === undefined && this.options.state.executions.has(executionName)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private now(): number {
    return this.options.now();
  }

  private async run(execution: Message): Promise<void> {
    const name = execution.name as string;
    const tasks = this.options.state.tasksOf(name);
    const container = (execution.template?.containers as Message[] | undefined)?.[0];
    if (this.cancelling.has(name)) {
      // Cancelled while it waited for resources: no container ever starts.
      for (const task of tasks) this.cancelTask(execution, task);
      return this.finish(execution, "CONDITION_FAILED", { executionReason: "CANCELLED", message: "The execution was cancelled." });
    }
    if (this.options.runtime === null) {
      const message = `gcp-local cannot run containers: ${this.options.runtimeUnavailable}`;
      setCondition(execution, condition("ResourcesAvailable", "CONDITION_FAILED", this.now(), { message }));
      return this.finish(execution, "CONDITION_FAILED", { message });
    }
    const image = (container?.image as string | undefined) ?? "";
    const refusal = (await this.options.runtime.hasImage(image)) ? this.options.resourceFailure(execution) : { reason: "CONTAINER_MISSING", message: `Image '${image}' not found.` };
    if (refusal !== null) {
      // Cloud Run could not get the execution its resources: no task starts, each fails with the reason.
      setCondition(execution, condition("ResourcesAvailable", "CONDITION_FAILED", this.now(), refusal));
      for (const task of tasks) setCondition(task, condition("Completed", "CONDITION_FAILED", this.now(), refusal));
      execution.failedCount = tasks.length;
      return this.finish(execution, "CONDITION_FAILED", refusal);
    }
    const parallelism = Number(execution.parallelism ?? 0) > 0 ? Number(execution.parallelism) : tasks.length;
    const queue = [...tasks];
    const workers = Array.from({ length: Math.min(parallelism, tasks.length) }, async () => {
      for (let task = queue.shift(); task !== undefined; task = queue.shift()) await this.runTask(execution, task);
    });
    await Promise.all(workers);
    const failed = tasks.find((task) => conditionOf(task, "Completed")?.state === "CONDITION_FAILED" && conditionOf(task, "Completed")?.executionReason !== "CANCELLED");
    if (this.cancelling.has(name)) {
      this.finish(execution, "CONDITION_FAILED", { executionReason: "CANCELLED", message: "The execution was cancelled." });
    } else if (failed !== undefined) {
      const why = conditionOf(failed, "Completed");
      this.finish(execution, "CONDITION_FAILED", { executionReason: "NON_ZERO_EXIT_CODE", message: `Task ${shortId(failed.name as string)} failed with message: ${why?.message ?? "The container exited with an error."}` });
    } else {
      const seconds = (this.now() - (timestampMs(execution.startTime) ?? this.now())) / 1000;
      this.finish(execution, "CONDITION_SUCCEEDED", { message: `Execution completed successfully in ${seconds.toFixed(2)}s.` });
    }
  }

  private async runTask(execution: Message, task: Message): Promise<void> {
    const runtime = this.options.runtime!;
    const executionName = execution.name as string;
    const container = (task.containers as Message[])[0]!;
    const maxRetries = Number(task.maxRetries ?? 0);
    const timeoutSeconds = durationSeconds(task.timeout, 600);
    const memoryLimit = (container.resources?.limits?.memory as string | undefined) ?? "512Mi";
    const { project, location } = /^projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)\//.exec(executionName)!.groups as { project: string; location: string };
    for (let attemptNumber = 0; ; attemptNumber += 1) {
      if (this.cancelling.has(executionName)) return this.cancelTask(execution, task);
      const key = `${executionName}/${task.index ?? 0}/${attemptNumber}`;
      const attempt: Attempt = { handle: null, cancelled: false };
      this.attempts.set(key, attempt);
      let exit: { exitCode: number; oomKilled: boolean };
      let timedOut = false;
      try {
        const handle = await runtime.start({
          name: `gcp-local-${shortId(task.name as string)}-${attemptNumber}-${Math.random().toString(36).slice(2, 7)}`,
          key,
          image: container.image as string,
          entryPoint: (container.command as string[] | undefined)?.length ? (container.command as string[]) : undefined,
          command: (container.args as string[] | undefined)?.length ? (container.args as string[]) : undefined,
          env: taskEnvironment(container, execution, task, attemptNumber, this.options.secret),
          memoryMib: memoryMib(memoryLimit) ?? undefined,
          workingDirectory: (container.workingDir as string | undefined) || undefined,
          init: true,
        });
        attempt.handle = handle;
        if (attempt.cancelled) await handle.stop(this.options.stopGraceSeconds).catch(() => undefined);
        const startedAt = this.now();
        task.startTime ??= timestamp(startedAt);
        execution.startTime ??= timestamp(startedAt);
        execution.runningCount = Number(execution.runningCount ?? 0) + 1;
        setCondition(execution, condition("ResourcesAvailable", "CONDITION_SUCCEEDED", startedAt));
        setCondition(execution, condition("Started", "CONDITION_SUCCEEDED", startedAt));
        setCondition(task, condition("Started", "CONDITION_SUCCEEDED", startedAt));
        const timer = setTimeout(() => {
          timedOut = true;
          void handle.stop(this.options.stopGraceSeconds).catch(() => undefined);
        }, timeoutSeconds * 1000);
        const followed = handle.follow((line) => this.options.output.append({ project, location, job: execution.job as string, execution: shortId(executionName), taskIndex: Number(task.index ?? 0), attempt: attemptNumber, line }));
        try {
          exit = await handle.wait();
          await followed.catch(() => undefined);
        } finally {
          clearTimeout(timer);
          execution.runningCount = Math.max(0, Number(execution.runningCount ?? 1) - 1);
          await handle.remove().catch(() => undefined);
        }
      } catch (error) {
        // The engine refused the container: the task fails as Cloud Run's does when it cannot start one.
        const message = `The container could not be started: ${(error as Error).message}`;
        task.lastAttemptResult = { status: { code: 2, message } };
        setCondition(task, condition("Completed", "CONDITION_FAILED", this.now(), { message }));
        execution.failedCount = Number(execution.failedCount ?? 0) + 1;
        return;
      } finally {
        this.attempts.delete(key);
      }
      if (attempt.cancelled || this.cancelling.has(executionName)) {
        task.lastAttemptResult = attemptResult(exit.exitCode, exit.oomKilled, false, memoryLimit).result;
        return this.cancelTask(execution, task);
      }
      const { message, result } = attemptResult(exit.exitCode, exit.oomKilled, timedOut, memoryLimit);
      task.lastAttemptResult = result;
      task.completionTime = timestamp(this.now());
      if (exit.exitCode === 0 && !timedOut) {
        setCondition(task, condition("Completed", "CONDITION_SUCCEEDED", this.now(), { message: "Completed successfully." }));
        execution.succeededCount = Number(execution.succeededCount ?? 0) + 1;
        return;
      }
      if (attemptNumber < maxRetries) {
        task.retried = Number(task.retried ?? 0) + 1;
        execution.retriedCount = Number(execution.retriedCount ?? 0) + 1;
        setCondition(task, condition("Retry", "CONDITION_SUCCEEDED", this.now(), { message: `System will retry after 0:00:00 from lastTransitionTime for attempt ${attemptNumber + 1}.` }));
        setCondition(execution, condition("Retry", "CONDITION_SUCCEEDED", this.now(), { message: `${execution.retriedCount} task(s) retried.` }));
        continue;
      }
      setCondition(task, condition("Completed", "CONDITION_FAILED", this.now(), { executionReason: "NON_ZERO_EXIT_CODE", message }));
      execution.failedCount = Number(execution.failedCount ?? 0) + 1;
      return;
    }
  }

  private cancelTask(execution: Message, task: Message): void {
    setCondition(task, condition("Completed", "CONDITION_FAILED", this.now(), { executionReason: "CANCELLED", message: "The task was cancelled." }));
    task.completionTime ??= timestamp(this.now());
    execution.cancelledCount = Number(execution.cancelledCount ?? 0) + 1;
  }

  private finish(execution: Message, state: "CONDITION_SUCCEEDED" | "CONDITION_FAILED", why: { message: string; reason?: string; executionReason?: string }): void {
    const now = this.now();
    if (state === "CONDITION_FAILED" && conditionOf(execution, "Started")?.state === "CONDITION_PENDING") {
      setCondition(execution, condition("Started", "CONDITION_FAILED", now, { message: why.message }));
    }
    setCondition(execution, condition("Completed", state, now, why));
    execution.runningCount = 0;
    execution.completionTime = timestamp(now);
    execution.updateTime = timestamp(now);
    execution.reconciling = false;
    this.cancelling.delete(execution.name as string);
    this.options.ended(execution);
  }
}
