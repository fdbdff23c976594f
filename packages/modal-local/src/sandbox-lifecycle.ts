import type { ContainerHandle, ContainerRuntime } from "@ferry/local-containers";
import { sandboxResult, type SandboxEnd } from "./sandbox-result.js";
import type { ImageRecord, SandboxRecord } from "./state.js";

export interface SandboxLifecycleOptions {
  /** null: no container engine; sandboxes live in memory until terminated, timed out or finished by a test. */
  runtime: ContainerRuntime | null;
  /** Why containers cannot run (an engine was wanted but does not answer); sandboxes then fail to start. */
  runtimeUnavailable: string | null;
  /** SIGTERM-to-SIGKILL grace of a terminate. */
  terminateGraceSeconds: number;
  /** Variables every sandbox's container gets, under its own. */
  sandboxEnvironment: Record<string, string>;
  now: () => Date;
}

/**
 * Runs sandboxes: as containers on the local engine when there is one (a sandbox's timeout kills its
 * container, a terminate stops it with SIGTERM then SIGKILL), in memory otherwise. A sandbox's result is
 * set once, after all its output is read, so a reader that sees the result has every line.
 */
export class SandboxLifecycle {
  private readonly handles = new Map<string, ContainerHandle>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly ends = new Map<string, SandboxEnd>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: SandboxLifecycleOptions) {}

  /** Starts a created sandbox in the background. */
  launch(sandbox: SandboxRecord, image: ImageRecord): void {
    const work = this.run(sandbox, image).catch((error: unknown) => {
      this.finish(sandbox, { kind: "failed-to-start", reason: `The sandbox could not be started: ${(error as Error).message}` });
    });
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  private async run(sandbox: SandboxRecord, image: ImageRecord): Promise<void> {
    const runtime = this.options.runtime;
    if (runtime === null && this.options.runtimeUnavailable !== null) {
      this.finish(sandbox, { kind: "failed-to-start", reason: `modal-local cannot run sandboxes: ${this.options.runtimeUnavailable}` });
      return;
    }
    if (runtime === null) {
      this.markScheduled(sandbox);
      return;
    }
    if (image.dockerRef === null) {
      this.finish(sandbox, { kind: "failed-to-start", reason: `Image ${image.id} has nothing to run: it was not built on a container engine.` });
      return;
    }
    if (!(await runtime.hasImage(image.dockerRef))) {
      this.finish(sandbox, { kind: "failed-to-start", reason: `Image ${image.dockerRef} is not on the local Docker engine (modal-local never pulls images: build or import it first).` });
      return;
    }
    if (sandbox.result !== null) return; // terminated before it started
    const handle = await runtime.start({
      name: `modal-local-${sandbox.id}`,
      key: sandbox.id,
      image: image.dockerRef,
      ...(sandbox.command.length > 0 ? { command: sandbox.command } : {}),
      env: { ...this.options.sandboxEnvironment, ...sandbox.env },
      // Modal's memory is a request; only an explicit limit caps the container.
      ...(sandbox.memoryLimitMib === null ? {} : { memoryMib: sandbox.memoryLimitMib }),
      ...(sandbox.workdir === null ? {} : { workingDirectory: sandbox.workdir }),
      init: true,
    });
    this.handles.set(sandbox.id, handle);
    sandbox.containerId = handle.id;
    this.markScheduled(sandbox);
    if (sandbox.terminateRequested) await handle.stop(this.options.terminateGraceSeconds);
    const followed = handle.follow((line) => {
      const output = line.stream === "stdout" ? sandbox.stdout : sandbox.stderr;
      output.append(`${line.message}\n`, line.timestamp);
      sandbox.changed.notify();
    });
    const exit = await handle.wait();
    await followed.catch(() => undefined);
    const end = this.ends.get(sandbox.id) ?? { kind: "exited", exitCode: exit.exitCode, oomKilled: exit.oomKilled, ...(sandbox.memoryLimitMib === null ? {} : { memoryMib: sandbox.memoryLimitMib }) };
    this.finish(sandbox, end);
  }

  private markScheduled(sandbox: SandboxRecord): void {
    if (sandbox.result !== null) return;
    sandbox.scheduled = true;
    sandbox.startedAt = this.options.now().getTime();
    const timer = setTimeout(() => void this.timeOut(sandbox), sandbox.timeoutSecs * 1000);
    timer.unref();
    this.timers.set(sandbox.id, timer);
    sandbox.changed.notify();
  }

  private async timeOut(sandbox: SandboxRecord): Promise<void> {
    if (sandbox.result !== null) return;
    const end: SandboxEnd = { kind: "timed-out", timeoutSecs: sandbox.timeoutSecs };
    const handle = this.handles.get(sandbox.id);
    if (handle === undefined) return this.finish(sandbox, end);
    this.ends.set(sandbox.id, end);
    await handle.stop(0).catch(() => undefined);
  }

  /**
   * Asks a sandbox to stop and returns at once, as Modal's terminate does; its result (TERMINATED) is set
   * once the container has stopped (after the grace period at most). A stop the engine refuses is kept
   * in `stopError` and the sandbox runs on: a later terminate asks again.
   */
  terminate(sandbox: SandboxRecord): void {
    if (sandbox.result !== null) return;
    sandbox.terminateRequested = true;
    const handle = this.handles.get(sandbox.id);
    if (handle === undefined) {
      // Not started (or no engine): nothing runs, so it has ended.
      if (this.options.runtime === null || !sandbox.scheduled) this.finish(sandbox, { kind: "terminated" });
      return;
    }
    if (!this.ends.has(sandbox.id)) this.ends.set(sandbox.id, { kind: "terminated" });
    sandbox.stopError = null;
    handle.stop(this.options.terminateGraceSeconds).catch((error: unknown) => {
      if (sandbox.result !== null) return;
      sandbox.stopError = (error as Error).message;
      sandbox.terminateRequested = false;
      this.ends.delete(sandbox.id);
      sandbox.changed.notify();
    });
  }

  /** Ends an in-memory sandbox as if its program had printed `stdout`/`stderr` and exited (tests without an engine). */
  complete(sandbox: SandboxRecord, exit: { exitCode: number; stdout?: string; stderr?: string }): void {
    if (sandbox.result !== null) throw new Error(`sandbox ${sandbox.id} has already finished`);
    if (this.handles.has(sandbox.id)) throw new Error(`sandbox ${sandbox.id} runs in a container: it ends when its program does`);
    const now = this.options.now().getTime();
    if (exit.stdout !== undefined) sandbox.stdout.append(exit.stdout, now);
    if (exit.stderr !== undefined) sandbox.stderr.append(exit.stderr, now);
    this.finish(sandbox, { kind: "exited", exitCode: exit.exitCode });
  }

  /** Appends output to an in-memory sandbox that keeps running. */
  print(sandbox: SandboxRecord, stream: "stdout" | "stderr", text: string): void {
    (stream === "stdout" ? sandbox.stdout : sandbox.stderr).append(text, this.options.now().getTime());
    sandbox.changed.notify();
  }

  private finish(sandbox: SandboxRecord, end: SandboxEnd): void {
    if (sandbox.result !== null) return;
    clearTimeout(this.timers.get(sandbox.id));
    this.timers.delete(sandbox.id);
    this.ends.delete(sandbox.id);
    sandbox.result = sandboxResult(end);
    sandbox.finishedAt = this.options.now().getTime();
    sandbox.changed.notify();
  }

  /** Stops timers and removes every container this server started. */
  async close(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.handles.values()].map((h) => h.stop(0).catch(() => undefined)));
    await this.options.runtime?.removeAll();
    await Promise.allSettled([...this.running]);
  }
}
