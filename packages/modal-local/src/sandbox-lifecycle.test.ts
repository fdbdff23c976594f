import { describe, expect, it } from "vitest";
import type { ContainerExit, ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import { SandboxLifecycle } from "./sandbox-lifecycle.js";
import { ModalLocalState, type ImageRecord, type SandboxRecord } from "./state.js";
import { ChangeSignal } from "./change-signal.js";

/** A container that prints what it is told and exits when told, or when stopped (SIGTERM → 143, kill → 137). */
class FakeContainer implements ContainerHandle {
  readonly id: string;
  private lines: ((line: OutputLine) => void) | null = null;
  private exited!: (exit: ContainerExit) => void;
  private readonly exit = new Promise<ContainerExit>((resolve) => (this.exited = resolve));
  stops: number[] = [];
  refuseStop: string | null = null;
  constructor(readonly launch: ContainerLaunch) {
    this.id = `c-${launch.key}`;
  }
  print(stream: "stdout" | "stderr", message: string): void {
    this.lines?.({ stream, message, timestamp: Date.now() });
  }
  end(exitCode: number, oomKilled = false): void {
    this.exited({ exitCode, oomKilled });
  }
  async follow(onLine: (line: OutputLine) => void): Promise<void> {
    this.lines = onLine;
    await this.exit;
  }
  wait(): Promise<ContainerExit> {
    return this.exit;
  }
  async stop(graceSeconds: number): Promise<void> {
    this.stops.push(graceSeconds);
    if (this.refuseStop !== null) throw new Error(this.refuseStop);
    this.end(graceSeconds === 0 ? 137 : 143);
  }
  async remove(): Promise<void> {}
}

class FakeRuntime implements ContainerRuntime {
  readonly containers = new Map<string, FakeContainer>();
  images = new Set(["ferry-engine:latest"]);
  async hasImage(image: string): Promise<boolean> {
    return this.images.has(image);
  }
  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    const container = new FakeContainer(launch);
    this.containers.set(launch.key, container);
    return container;
  }
  async find(key: string): Promise<ContainerHandle | null> {
    return this.containers.get(key) ?? null;
  }
  async removeAll(): Promise<void> {}
}

const image: ImageRecord = { id: "im-1", contentKey: "k", dockerfileCommands: ["FROM ferry-engine:latest"], baseImages: [], dockerRef: "ferry-engine:latest", status: "built", result: null, logs: [], builds: 1, layersApplied: true, changed: new ChangeSignal() };

function sandbox(state: ModalLocalState, fields: Partial<SandboxRecord> = {}): SandboxRecord {
  return state.newSandbox({ version: 2, appId: "ap-1", environmentName: "main", name: null, tags: {}, imageId: "im-1", command: ["ferry-engine"], env: { TOKEN: "t" }, secretIds: [], timeoutSecs: 60, workdir: null, milliCpu: null, memoryMib: 256, memoryLimitMib: 512, gpu: null, regions: [], createdAt: Date.now(), ...fields });
}

async function until(sb: SandboxRecord, ok: () => boolean): Promise<void> {
  while (!ok()) await sb.changed.next(1000);
}

function setup(runtime: ContainerRuntime | null, runtimeUnavailable: string | null = null) {
  const state = new ModalLocalState(["main"]);
  const lifecycle = new SandboxLifecycle({ runtime, runtimeUnavailable, terminateGraceSeconds: 5, sandboxEnvironment: { FROM_SERVER: "1", TOKEN: "server" }, now: () => new Date() });
  return { state, lifecycle };
}

describe("SandboxLifecycle with a container runtime", () => {
  it("starts the container with the sandbox's command, variables (its own over the server's) and memory, and keeps its output before the result", async () => {
    const runtime = new FakeRuntime();
    const { state, lifecycle } = setup(runtime);
    const sb = sandbox(state);
    lifecycle.launch(sb, image);
    await until(sb, () => sb.scheduled);
    const container = runtime.containers.get(sb.id)!;
    expect(container.launch).toMatchObject({ name: `modal-local-${sb.id}`, image: "ferry-engine:latest", command: ["ferry-engine"], env: { FROM_SERVER: "1", TOKEN: "t" }, memoryMib: 512, init: true });
    container.print("stdout", "hello");
    container.print("stderr", "warn");
    container.end(2);
    await until(sb, () => sb.result !== null);
    expect(sb.result).toMatchObject({ status: 2, exitcode: 2 });
    expect(sb.stdout.text()).toBe("hello\n");
    expect(sb.stderr.text()).toBe("warn\n");
    expect(sb.containerId).toBe(container.id);
  });

  it("terminate stops the container with the grace period and reports TERMINATED, not the signal's exit code", async () => {
    const runtime = new FakeRuntime();
    const { state, lifecycle } = setup(runtime);
    const sb = sandbox(state);
    lifecycle.launch(sb, image);
    await until(sb, () => sb.scheduled);
    lifecycle.terminate(sb);
    await until(sb, () => sb.result !== null);
    expect(runtime.containers.get(sb.id)!.stops).toEqual([5]);
    expect(sb.result?.status).toBe(3);
  });

  it("keeps a stop the engine refused, and the sandbox runs on until a later terminate", async () => {
    const runtime = new FakeRuntime();
    const { state, lifecycle } = setup(runtime);
    const sb = sandbox(state);
    lifecycle.launch(sb, image);
    await until(sb, () => sb.scheduled);
    const container = runtime.containers.get(sb.id)!;
    container.refuseStop = "cannot stop container: permission denied";
    lifecycle.terminate(sb);
    await until(sb, () => sb.stopError !== null);
    expect(sb).toMatchObject({ stopError: "cannot stop container: permission denied", terminateRequested: false, result: null });
    container.refuseStop = null;
    lifecycle.terminate(sb);
    await until(sb, () => sb.result !== null);
    expect(sb).toMatchObject({ stopError: null, result: { status: 3 } });
  });

  it("kills a sandbox at its timeout and reports TIMEOUT", async () => {
    const runtime = new FakeRuntime();
    const { state, lifecycle } = setup(runtime);
    const sb = sandbox(state, { timeoutSecs: 0.05 });
    lifecycle.launch(sb, image);
    await until(sb, () => sb.result !== null);
    expect(runtime.containers.get(sb.id)!.stops).toEqual([0]);
    expect(sb.result).toMatchObject({ status: 4, exitcode: 124 });
  });

  it("reports an OOM kill with the sandbox's memory", async () => {
    const runtime = new FakeRuntime();
    const { state, lifecycle } = setup(runtime);
    const sb = sandbox(state);
    lifecycle.launch(sb, image);
    await until(sb, () => sb.scheduled);
    runtime.containers.get(sb.id)!.end(137, true);
    await until(sb, () => sb.result !== null);
    expect(sb.result?.exception).toContain("512 MiB");
  });

  it("fails to start a sandbox whose image is missing, or when the engine is unavailable", async () => {
    const runtime = new FakeRuntime();
    runtime.images.clear();
    const { state, lifecycle } = setup(runtime);
    const sb = sandbox(state);
    lifecycle.launch(sb, image);
    await until(sb, () => sb.result !== null);
    expect(sb.result).toMatchObject({ status: 5, exception: expect.stringContaining("never pulls") });
    expect(sb.scheduled).toBe(false);

    const down = setup(null, "Docker is not answering (connect ENOENT)");
    const other = sandbox(down.state);
    down.lifecycle.launch(other, image);
    await until(other, () => other.result !== null);
    expect(other.result?.exception).toBe("modal-local cannot run sandboxes: Docker is not answering (connect ENOENT)");
  });
});

describe("SandboxLifecycle in memory", () => {
  it("schedules at once and runs until terminated, completed or timed out", async () => {
    const { state, lifecycle } = setup(null);
    const a = sandbox(state);
    lifecycle.launch(a, image);
    await until(a, () => a.scheduled);
    lifecycle.print(a, "stdout", "partial\n");
    lifecycle.complete(a, { exitCode: 0, stdout: "done\n" });
    expect(a.result?.status).toBe(1);
    expect(a.stdout.text()).toBe("partial\ndone\n");
    expect(() => lifecycle.complete(a, { exitCode: 1 })).toThrow(/already finished/);

    const b = sandbox(state);
    lifecycle.launch(b, image);
    await until(b, () => b.scheduled);
    lifecycle.terminate(b);
    expect(b.result?.status).toBe(3);

    const c = sandbox(state, { timeoutSecs: 0.05 });
    lifecycle.launch(c, image);
    await until(c, () => c.result !== null);
    expect(c.result?.status).toBe(4);
    await lifecycle.close();
  });
});
