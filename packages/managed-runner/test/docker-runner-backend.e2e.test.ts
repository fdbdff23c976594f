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

/** Removes every container, cache volume and network this file made. */
async function cleanup(): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${labelPrefix}.managed=true`] } });
  const inits = await docker.listContainers({ all: true, filters: { label: [`${labelPrefix}.cache_init=true`] } });
  await Promise.all([...containers, ...inits].map((c) => docker.getContainer(c.Id).remove({ force: true })));
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${labelPrefix}.managed=true`] } });
  await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove()));
}

async function removeNetworks(): Promise<void> {
  const networks = await docker.listNetworks({ filters: { label: [`${labelPrefix}.managed=true`] } });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
}

/** A Python program run as the engine, printing what a run sees of its sandbox. */
const PROBE = `
import os, socket, subprocess, sys
def say(k, v): print(f"{k}: {v}", flush=True)
say("uid", f"{os.getuid()}:{os.getgid()}")
say("capeff", [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0])
# gVisor's /proc has no NoNewPrivs line.
say("nonewprivs", ([l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")] or ["not shown"])[0])
say("kernel", open("/proc/version").read().strip())
try:
    say("dmesg", subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout.splitlines()[0])
except Exception as e:
    say("dmesg", f"unreadable ({e})")
for path in ["/probe", "/etc/probe", os.environ["HOME"] + "/probe", os.environ.get("TMPDIR", "/tmp") + "/probe", os.environ["FERRY_CACHE_DIR"] + "/probe"]:
    try:
        open(path, "w").close()
        say("write " + path, "ok")
    except OSError as e:
        say("write " + path, e.strerror)
`;

describe("DockerRunnerBackend", await dockerService({ images: [IMAGE] }), () => {
  afterAll(async () => {
    await cleanup();
    await removeNetworks();
  });

  describeRunnerConformance("docker", async () => ({
    backend: new DockerRunnerBackend(options),
    specFor: (behaviour: RunnerTestBehaviour) => runnerTestSpec(behaviour, { image: IMAGE, cacheKey: "conformance" }),
    cleanup,
  }));

  describe("on a real daemon", () => {
    it("creates the container Ferry describes: name, labels, limits, cache volume, no swap, locked down, on its own network", async () => {
      const backend = new DockerRunnerBackend(options);
      const spec = runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "inspect", workspaceId: "ws-inspect" });
      const { id } = await backend.start({ ...spec, memoryMib: 128, cpus: 0.5 });
      try {
        const info = await docker.getContainer(id).inspect();
        expect(info.Name).toBe(`/${labelPrefix}-run-${spec.flowRunId}`);
        expect(info.Config.Labels).toMatchObject({ [`${labelPrefix}.managed`]: "true", [`${labelPrefix}.flow_run_id`]: spec.flowRunId, [`${labelPrefix}.workspace_id`]: "ws-inspect" });
        expect(info.HostConfig).toMatchObject({ Memory: 128 * 1024 * 1024, MemorySwap: 128 * 1024 * 1024, NanoCpus: 5e8, PidsLimit: 1024, AutoRemove: false });
        expect(info.Config.User).toBe("10001:10001");
        expect(info.HostConfig).toMatchObject({ CapDrop: ["ALL"], ReadonlyRootfs: true, SecurityOpt: ["no-new-privileges:true"], NetworkMode: `${labelPrefix}-runs` });
        expect(Object.keys(info.HostConfig.Tmpfs ?? {}).sort()).toEqual(["/home/ferry", "/tmp"]);
        expect(info.HostConfig.ExtraHosts).toEqual(["host.docker.internal:host-gateway"]);
        expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: `${labelPrefix}-cache-ws-ws-inspect-inspect`, Destination: "/ferry/cache" })]);
        expect(info.Config.Env).toContain("FERRY_CACHE_DIR=/ferry/cache");
        const network = await docker.getNetwork(`${labelPrefix}-runs`).inspect();
        expect(network.Options).toMatchObject({ "com.docker.network.bridge.enable_icc": "false" });
        expect((await backend.wait(id)).exitCode).toBe(0);
      } finally {
        await backend.remove(id);
      }
    });

    it("runs the engine as a non-root user without capabilities, writing only to its tmpfs and its cache", async () => {
      const backend = new DockerRunnerBackend({ ...options, engineCommand: ["python3", "-c", PROBE] });
      const { id } = await backend.start(runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "probe", workspaceId: "ws-probe" }));
      try {
        const exit = await backend.wait(id);
        const seen = exit.tail.join("\n");
        expect(exit.exitCode, seen).toBe(0);
        expect(exit.tail).toEqual(expect.arrayContaining([
          "uid: 10001:10001",
          "capeff: 0000000000000000",
          "nonewprivs: 1",
          "write /probe: Read-only file system",
          "write /etc/probe: Read-only file system",
          "write /home/ferry/probe: ok",
          "write /tmp/probe: ok",
          "write /ferry/cache/probe: ok",
        ]));
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

    it("refuses to start when Docker lacks the configured runtime, saying how to install it", async () => {
      await expect(createRunnerBackend({ docker: { ...options, runtime: `ferry-missing-${labelPrefix}` }, process: { stateDir: "/tmp/ferry-unused/runs", cacheDir: "/tmp/ferry-unused/cache" } })).rejects.toMatchObject({
        code: "unavailable",
        message: expect.stringContaining(`has no runtime 'ferry-missing-${labelPrefix}'`),
      });
    });

    it("is chosen by createRunnerBackend when the daemon answers", async () => {
      const chosen = await createRunnerBackend({ docker: options, process: { stateDir: "/tmp/ferry-unused/runs", cacheDir: "/tmp/ferry-unused/cache" } });
      expect(chosen).toMatchObject({ kind: "docker", message: expect.stringMatching(/^using Docker/) });
      expect(chosen.backend.isolated).toBe(true);
    });
  });
});

describe("DockerRunnerBackend on gVisor (runsc)", await dockerService({ images: [IMAGE], runtimes: ["runsc"] }), () => {
  afterAll(async () => {
    await cleanup();
    await removeNetworks();
  });

  it("runs the engine in gVisor's kernel, with the same lock-down", async () => {
    const chosen = await createRunnerBackend({ mode: "docker", docker: { ...options, runtime: "runsc", engineCommand: ["python3", "-c", PROBE] }, process: { stateDir: "/tmp/ferry-unused/runs", cacheDir: "/tmp/ferry-unused/cache" } });
    expect(chosen.message).toMatch(/runtime runsc/);
    const { id } = await chosen.backend.start(runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "gvisor", workspaceId: "ws-gvisor" }));
    try {
      const info = await docker.getContainer(id).inspect();
      expect(info.HostConfig).toMatchObject({ Runtime: "runsc", ReadonlyRootfs: true, CapDrop: ["ALL"] });
      const exit = await chosen.backend.wait(id);
      const seen = exit.tail.join("\n");
      expect(exit.exitCode, seen).toBe(0);
      expect(seen).toMatch(/^dmesg: .*Starting gVisor/m);
      // gVisor checks the permission before the read-only mount, so the root says EACCES there.
      expect(seen).toMatch(/^write \/probe: (Read-only file system|Permission denied)$/m);
      expect(exit.tail).toEqual(expect.arrayContaining(["uid: 10001:10001", "capeff: 0000000000000000", "write /home/ferry/probe: ok", "write /tmp/probe: ok", "write /ferry/cache/probe: ok"]));
    } finally {
      await chosen.backend.remove(id);
    }
  });
});
