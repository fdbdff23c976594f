import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { isFerryError } from "@ferry/core";
import { describeRunnerConformance, RUNNER_TEST_PROGRAMS, runnerTestSpec, type RunnerTestBehaviour } from "@ferry/core/runner-conformance";
import { ProcessRunnerBackend, type ProcessRunnerOptions } from "@ferry/managed-runner";
import { afterEach, describe, expect, it } from "vitest";

const TEST_PROGRAM = [process.execPath, "-e", RUNNER_TEST_PROGRAMS.node];

async function harnessRoot(): Promise<{ root: string; options: ProcessRunnerOptions }> {
  const root = await mkdtemp(join(tmpdir(), "ferry-process-runner-"));
  return {
    root,
    options: { stateDir: join(root, "runs"), cacheDir: join(root, "cache"), engineCommand: TEST_PROGRAM, stopGraceSeconds: 2, memoryPollMs: 50 },
  };
}

describeRunnerConformance("process", async () => {
  const { root, options } = await harnessRoot();
  return {
    backend: new ProcessRunnerBackend(options),
    specFor: (behaviour: RunnerTestBehaviour) => runnerTestSpec(behaviour, { image: "unused-by-the-process-backend", cacheKey: "conformance" }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe("ProcessRunnerBackend", () => {
  const roots: string[] = [];
  const setup = async (overrides: Partial<ProcessRunnerOptions> = {}) => {
    const { root, options } = await harnessRoot();
    roots.push(root);
    return { root, options: { ...options, ...overrides }, backend: new ProcessRunnerBackend({ ...options, ...overrides }) };
  };
  afterEach(async () => {
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });

  it("gives the engine only the allowed host variables, under the spec's env", async () => {
    const { backend } = await setup({
      hostEnv: { PATH: "/usr/bin:/bin", HOME: "/home/ferry", FERRY_SECRET_KEY: "do-not-leak", FERRY_DATABASE_URL: "postgres://secret", PIP_INDEX_URL: "http://pip.local/simple" },
    });
    const spec = { ...runnerTestSpec("print-env", { image: "-", cacheKey: "env" }), env: { ...runnerTestSpec("print-env", { image: "-", cacheKey: "env" }).env, HOME: "/home/run" } };
    const { id } = await backend.start(spec);
    const { tail, exitCode } = await backend.wait(id);
    expect(exitCode).toBe(0);
    const names = tail.filter((l) => l.startsWith("env: ")).map((l) => l.slice(5).split("=")[0]);
    expect(tail).toContain("env: PIP_INDEX_URL=http://pip.local/simple");
    expect(tail).toContain("env: HOME=/home/run");
    expect(names).not.toContain("FERRY_SECRET_KEY");
    expect(names).not.toContain("FERRY_DATABASE_URL");
    await backend.remove(id);
  });

  it("lets another process find a run, wait for it and stop it after the starting process has exited", async () => {
    const { options } = await setup();
    const script = `
      import { ProcessRunnerBackend } from "@ferry/managed-runner";
      import { runnerTestSpec } from "@ferry/core/runner-conformance";
      const options = JSON.parse(process.argv[1]);
      const backend = new ProcessRunnerBackend(options);
      const spec = runnerTestSpec("sleep", { image: "-", cacheKey: "reattach", workspaceId: "ws-reattach" });
      const started = await backend.start(spec);
      process.stdout.write(JSON.stringify({ ...started, flowRunId: spec.flowRunId }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(options)], { cwd: new URL("..", import.meta.url) });
    const started = JSON.parse(stdout) as { id: string; flowRunId: string };

    const backend = new ProcessRunnerBackend(options);
    const listed = await backend.list();
    expect(listed).toEqual([expect.objectContaining({ id: started.id, flowRunId: started.flowRunId, workspaceId: "ws-reattach", running: true })]);
    const waiting = backend.wait(started.id);
    await backend.stop(started.id, "test: stop from another process");
    const exit = await waiting;
    expect(exit.exitCode).toBe(143);
    await backend.remove(started.id);
    expect(await backend.list()).toEqual([]);
  });

  it("reports a run whose supervisor was killed as ended, and kills its engine", async () => {
    const { options, backend } = await setup();
    const { id } = await backend.start(runnerTestSpec("sleep", { image: "-", cacheKey: "lost" }));
    const supervisor = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(join(options.stateDir, id, "supervisor.json"), "utf8"))) as { supervisorPid: number; enginePid: number };
    process.kill(supervisor.supervisorPid, "SIGKILL");
    const exit = await backend.wait(id, AbortSignal.timeout(10_000));
    expect(exit.exitCode).toBe(255);
    expect(exit.tail.at(-1)).toMatch(/supervisor \(pid \d+\) ended without recording an exit/);
    await expect.poll(() => alive(supervisor.enginePid), { timeout: 5000 }).toBe(false);
    expect((await backend.list()).find((i) => i.id === id)?.running).toBe(false);
    await backend.remove(id);
  });

  it("fails a start whose engine cannot be started, leaving nothing behind", async () => {
    const { options, backend } = await setup({ engineCommand: ["/nonexistent/ferry-engine"] });
    const error = await backend.start(runnerTestSpec("exit-0", { image: "-", cacheKey: "missing" })).catch((e: unknown) => e);
    expect(isFerryError(error, "internal")).toBe(true);
    expect((error as Error).message).toMatch(/could not start "\/nonexistent\/ferry-engine".*ENOENT.*engineCommand/);
    expect(await readdir(options.stateDir)).toEqual([]);
  });

  it("rejects a flow-run id that could escape the state directory", async () => {
    const { backend } = await setup();
    const spec = { ...runnerTestSpec("exit-0", { image: "-", cacheKey: "x" }), flowRunId: "../escape" };
    await expect(backend.start(spec)).rejects.toMatchObject({ code: "validation_failed" });
    await expect(backend.wait("../escape")).rejects.toMatchObject({ code: "not_found" });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
