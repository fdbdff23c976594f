import { randomBytes } from "node:crypto";
import { describeRunnerConformance, RUNNER_TEST_PROGRAMS, runnerTestSpec, type RunnerTestBehaviour } from "@ferry/core/runner-conformance";
import { buildContainerSpec, containerName, createRunnerBackend, DockerRunnerBackend, parseDockerRunnerOptions, type DockerRunnerOptions } from "@ferry/managed-runner";
import Dockerode from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";

// The image the managed runs start from; scripts/build-base-image.sh makes it without a registry.
const IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-base:bookworm";
const docker = new Dockerode();
// A prefix of its own, so cleanup never touches a developer's real runs on the same daemon.
const labelPrefix = `ferrytest-${randomBytes(3).toString("hex")}`;
const options: DockerRunnerOptions = { docker, labelPrefix, engineCommand: ["python3", "-c", RUNNER_TEST_PROGRAMS.python], stopGraceSeconds: 2, pull: "never" };

/** Removes every container and cache volume this file made. */
async function cleanup(): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${labelPrefix}.managed=true`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${labelPrefix}.managed=true`] } });
  await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove()));
}

describe("DockerRunnerBackend", await dockerService({ images: [IMAGE] }), () => {
  afterAll(cleanup);

  describeRunnerConformance("docker", async () => ({
    backend: new DockerRunnerBackend(options),
    specFor: (behaviour: RunnerTestBehaviour) => runnerTestSpec(behaviour, { image: IMAGE, cacheKey: "conformance" }),
    cleanup,
  }));

  describe("on a real daemon", () => {
    it("creates the container Ferry describes: name, labels, limits, cache volume, no swap", async () => {
      const backend = new DockerRunnerBackend(options);
      const spec = runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "inspect", workspaceId: "ws-inspect" });
      const { id } = await backend.start({ ...spec, memoryMib: 128, cpus: 0.5 });
      try {
        const info = await docker.getContainer(id).inspect();
        expect(info.Name).toBe(`/${labelPrefix}-run-${spec.flowRunId}`);
        expect(info.Config.Labels).toMatchObject({ [`${labelPrefix}.managed`]: "true", [`${labelPrefix}.flow_run_id`]: spec.flowRunId, [`${labelPrefix}.workspace_id`]: "ws-inspect" });
        expect(info.HostConfig).toMatchObject({ Memory: 128 * 1024 * 1024, MemorySwap: 128 * 1024 * 1024, NanoCpus: 5e8, PidsLimit: 1024, AutoRemove: false });
        expect(info.HostConfig.ExtraHosts).toEqual(["host.docker.internal:host-gateway"]);
        expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: `${labelPrefix}-cache-inspect`, Destination: "/ferry/cache" })]);
        expect(info.Config.Env).toContain("FERRY_CACHE_DIR=/ferry/cache");
        expect((await backend.wait(id)).exitCode).toBe(0);
      } finally {
        await backend.remove(id);
      }
    });

    it("starts a container that was created but not started (a crash between the two), and refuses a stranger's", async () => {
      const backend = new DockerRunnerBackend(options);
      const spec = runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "resume" });
      const created = await docker.createContainer(buildContainerSpec(spec, parseDockerRunnerOptions(options)));
      const started = await backend.start(spec);
      expect(started.id).toBe(created.id);
      expect((await backend.wait(started.id)).exitCode).toBe(0);
      await backend.remove(started.id);

      const other = runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "resume" });
      const stranger = await docker.createContainer({ name: containerName(labelPrefix, other.flowRunId), Image: IMAGE, Cmd: ["true"], Labels: { [`${labelPrefix}.managed`]: "true" } });
      try {
        await expect(backend.start(other)).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining("was not started by Ferry") });
      } finally {
        await stranger.remove({ force: true });
      }
    });

    it("resolves host.docker.internal on the bridge network", async () => {
      const backend = new DockerRunnerBackend({ ...options, engineCommand: ["python3", "-c", "import socket; print('host-gateway', socket.gethostbyname('host.docker.internal'))"] });
      const { id } = await backend.start(runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "gateway" }));
      try {
        const exit = await backend.wait(id);
        expect(exit.exitCode).toBe(0);
        expect(exit.tail.join("\n")).toMatch(/^host-gateway \d+\.\d+\.\d+\.\d+$/m);
      } finally {
        await backend.remove(id);
      }
    });

    it("fails a start on a missing image with not_found, leaving no container", async () => {
      const backend = new DockerRunnerBackend(options);
      const spec = runnerTestSpec("exit-0", { image: `ferry-test-missing-${labelPrefix}:none`, cacheKey: "missing" });
      await expect(backend.start(spec)).rejects.toMatchObject({ code: "not_found", message: expect.stringContaining("is not on this Docker host") });
      expect((await backend.list()).filter((i) => i.flowRunId === spec.flowRunId)).toEqual([]);
    });

    it("reports a command that cannot run as exit 127 with docker-init's message in the tail", async () => {
      const backend = new DockerRunnerBackend({ ...options, engineCommand: ["/nonexistent/ferry-engine"] });
      const { id } = await backend.start(runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "badcmd" }));
      try {
        const exit = await backend.wait(id);
        expect(exit.exitCode).toBe(127);
        expect(exit.tail.join("\n")).toContain("exec /nonexistent/ferry-engine failed");
      } finally {
        await backend.remove(id);
      }
    });

    it("without init, fails the start of a command that cannot run, removing the container so a retry starts afresh", async () => {
      const backend = new DockerRunnerBackend({ ...options, init: false, engineCommand: ["/nonexistent/ferry-engine"] });
      const spec = runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "badcmd" });
      // Docker 20.10 answers 400 (validation_failed), later versions 500 with the same OCI message (provider_error).
      await expect(backend.start(spec)).rejects.toMatchObject({ code: expect.stringMatching(/^(validation_failed|provider_error)$/), retryable: false, message: expect.stringContaining("/nonexistent/ferry-engine") });
      expect((await backend.list()).filter((i) => i.flowRunId === spec.flowRunId)).toEqual([]);
    });

    it("is chosen by createRunnerBackend when the daemon answers", async () => {
      const chosen = await createRunnerBackend({ docker: options, process: { stateDir: "/tmp/ferry-unused/runs", cacheDir: "/tmp/ferry-unused/cache" } });
      expect(chosen).toMatchObject({ kind: "docker", message: expect.stringMatching(/^using Docker/) });
      expect(chosen.backend.isolated).toBe(true);
    });
  });
});
