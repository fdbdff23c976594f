import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { createRunnerBackend } from "./create-runner-backend.js";

const processOptions = { stateDir: "/tmp/ferry-test-unused/runs", cacheDir: "/tmp/ferry-test-unused/cache" };
const noDocker = () => new Dockerode({ socketPath: "/nonexistent/ferry-docker.sock" });

describe("createRunnerBackend", () => {
  it("falls back to the process backend when Docker does not answer, and says runs are not isolated", async () => {
    const chosen = await createRunnerBackend({ docker: { docker: noDocker() }, process: processOptions });
    expect(chosen.kind).toBe("process");
    expect(chosen.backend.isolated).toBe(false);
    expect(chosen.message).toMatch(/^Docker not available \(connect ENOENT .*ferry-docker\.sock.*\): using the process backend, which gives runs no isolation$/);
  });

  it("picks Docker when its ping answers within the timeout", async () => {
    const answering = { ping: async () => "OK", modem: { socketPath: "/var/run/docker.sock" } } as unknown as Dockerode;
    const chosen = await createRunnerBackend({ docker: { docker: answering }, process: processOptions });
    expect(chosen).toMatchObject({ kind: "docker", message: "using Docker (unix:///var/run/docker.sock)" });
  });

  it("does not wait for a daemon that hangs", async () => {
    const hanging = {
      ping: ({ abortSignal }: { abortSignal: AbortSignal }) => new Promise((_, reject) => abortSignal.addEventListener("abort", () => reject(abortSignal.reason))),
      modem: { socketPath: "/var/run/docker.sock" },
    } as unknown as Dockerode;
    const chosen = await createRunnerBackend({ docker: { docker: hanging }, process: processOptions, pingTimeoutMs: 50 });
    expect(chosen.message).toBe("Docker not available (no answer within 50 ms at unix:///var/run/docker.sock): using the process backend, which gives runs no isolation");
  });

  it("fails in docker mode without Docker, and never pings in process mode", async () => {
    await expect(createRunnerBackend({ mode: "docker", docker: { docker: noDocker() }, process: processOptions })).rejects.toMatchObject({
      code: "unavailable",
      message: expect.stringContaining("start Docker, or use the process backend"),
    });
    const chosen = await createRunnerBackend({ mode: "process", docker: { docker: noDocker() }, process: processOptions });
    expect(chosen.kind).toBe("process");
  });

  it("with a runtime (gVisor), checks Docker has it, and never falls back to the process backend", async () => {
    const withRuntimes = (runtimes: string[]) =>
      ({ ping: async () => "OK", info: async () => ({ Runtimes: Object.fromEntries(runtimes.map((r) => [r, { path: r }])) }), modem: { socketPath: "/var/run/docker.sock" } }) as unknown as Dockerode;
    const chosen = await createRunnerBackend({ docker: { docker: withRuntimes(["runc", "runsc"]), runtime: "runsc" }, process: processOptions });
    expect(chosen).toMatchObject({ kind: "docker", message: "using Docker (unix:///var/run/docker.sock, runtime runsc)" });
    await expect(createRunnerBackend({ docker: { docker: withRuntimes(["runc"]), runtime: "runsc" }, process: processOptions })).rejects.toMatchObject({
      code: "unavailable",
      retryable: false,
      message: expect.stringMatching(/has no runtime 'runsc' \(it has runc\): install gVisor \(apt-get install runsc.*runsc install.*kill -HUP/),
    });
    await expect(createRunnerBackend({ docker: { docker: noDocker(), runtime: "runsc" }, process: processOptions })).rejects.toMatchObject({
      code: "unavailable",
      message: expect.stringContaining("the runtime runsc needs Docker"),
    });
  });

  it("reports bad options instead of falling back", async () => {
    await expect(createRunnerBackend({ docker: { docker: noDocker(), network: "none" as never }, process: processOptions })).rejects.toMatchObject({ code: "validation_failed" });
  });
});
