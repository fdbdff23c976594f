import type { RunnerLaunchSpec } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { buildContainerSpec, buildRunsNetworkSpec, buildWarmContainerSpec, containerEnv, flowRunIdFromName } from "./docker-container-spec.js";
import { parseDockerRunnerOptions, type DockerRunnerOptions } from "./docker-options.js";

const spec: RunnerLaunchSpec = {
  flowRunId: "0195f0c2-7b1e-7000-8000-000000000001",
  workspaceId: "ws-1",
  image: "ferry-base:bookworm",
  env: { FERRY_API_URL: "http://host.docker.internal:4200", FERRY_FLOW_RUN_ID: "0195f0c2-7b1e-7000-8000-000000000001", FERRY_CACHE_DIR: "/tmp/ignored" },
  memoryMib: 512,
  cpus: 1.5,
  cacheKey: "3f2a9c",
};

// A client is never used by the pure builder; parsing the options needs one, so give an inert object.
const settings = (options: DockerRunnerOptions = {}) => parseDockerRunnerOptions({ docker: {} as never, ...options });

describe("buildContainerSpec", () => {
  it("names and labels the container after the run", () => {
    const request = buildContainerSpec(spec, settings());
    expect(request.name).toBe("ferry-run-0195f0c2-7b1e-7000-8000-000000000001");
    expect(request.Image).toBe("ferry-base:bookworm");
    expect(request.Labels).toEqual({
      "ferry.managed": "true",
      "ferry.flow_run_id": spec.flowRunId,
      "ferry.workspace_id": "ws-1",
      "ferry.cache_key": "3f2a9c",
    });
  });

  it("limits memory without swap, CPUs and processes, and keeps the container after it exits", () => {
    const host = buildContainerSpec(spec, settings()).HostConfig!;
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(1_500_000_000);
    expect(host.PidsLimit).toBe(1024);
    expect(host.AutoRemove).toBe(false);
    expect(host.RestartPolicy).toEqual({ Name: "no" });
    expect(host.Init).toBe(true);
  });

  it("mounts the cache volume of the workspace and cache key and points FERRY_CACHE_DIR at it, over the spec's value", () => {
    const request = buildContainerSpec(spec, settings());
    expect(request.HostConfig!.Mounts![0]).toMatchObject({
      Type: "volume",
      Source: "ferry-cache-ws-ws-1-3f2a9c",
      Target: "/ferry/cache",
      VolumeOptions: { Labels: { "ferry.managed": "true", "ferry.workspace_id": "ws-1", "ferry.cache_key": "3f2a9c" } },
    });
    expect(request.Env).toContain("FERRY_CACHE_DIR=/ferry/cache");
    expect(request.Env).not.toContain("FERRY_CACHE_DIR=/tmp/ignored");
    expect(request.Env).toContain("FERRY_API_URL=http://host.docker.internal:4200");
  });

  it("gives two workspaces with the same cache key two volumes", () => {
    const a = buildContainerSpec(spec, settings()).HostConfig!.Mounts![0]!.Source;
    const b = buildContainerSpec({ ...spec, workspaceId: "ws-2" }, settings()).HostConfig!.Mounts![0]!.Source;
    expect(a).not.toBe(b);
  });

  it("runs as a non-root user without capabilities or new privileges, on a read-only root with tmpfs scratch and home", () => {
    const request = buildContainerSpec(spec, settings());
    expect(request.User).toBe("10001:10001");
    expect(request.Env).toEqual(expect.arrayContaining(["HOME=/home/ferry", "TMPDIR=/tmp"]));
    expect(request.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      Tmpfs: {
        "/tmp": "rw,exec,nosuid,nodev,size=512m,mode=1777",
        "/home/ferry": "rw,exec,nosuid,nodev,size=512m,mode=0700,uid=10001,gid=10001",
      },
    });
    expect(request.HostConfig!.CapAdd).toBeUndefined();
    expect(request.HostConfig!.Privileged).toBeUndefined();
    expect(request.HostConfig!.Runtime).toBeUndefined();
    expect(buildContainerSpec(spec, settings({ runtime: "runsc", user: "2000:3000" }))).toMatchObject({ User: "2000:3000", HostConfig: { Runtime: "runsc" } });
  });

  it("joins Ferry's own network by default, made with inter-container traffic off", () => {
    expect(buildContainerSpec(spec, settings()).HostConfig).toMatchObject({ NetworkMode: "ferry-runs", ExtraHosts: ["host.docker.internal:host-gateway"] });
    expect(buildContainerSpec(spec, settings({ networkName: "tenants" })).HostConfig!.NetworkMode).toBe("tenants");
    expect(buildRunsNetworkSpec("ferry", "ferry-runs")).toEqual({
      Name: "ferry-runs",
      Driver: "bridge",
      CheckDuplicate: true,
      Options: { "com.docker.network.bridge.enable_icc": "false" },
      Labels: { "ferry.managed": "true" },
    });
  });

  it("reaches the host through host-gateway on the bridge network, and needs nothing on the host network", () => {
    expect(buildContainerSpec(spec, settings({ network: "bridge" })).HostConfig).toMatchObject({ NetworkMode: "bridge", ExtraHosts: ["host.docker.internal:host-gateway"] });
    const host = buildContainerSpec(spec, settings({ network: "host" })).HostConfig!;
    expect(host.NetworkMode).toBe("host");
    expect(host.ExtraHosts).toBeUndefined();
  });

  it("mounts binds read-only, and replaces the entrypoint only when an engine command is given", () => {
    const withCommand = buildContainerSpec(spec, settings({ binds: ["/srv/pip:/ferry/pip"], engineCommand: ["python3", "-c", "print(1)"] }));
    expect(withCommand.HostConfig!.Mounts![1]).toEqual({ Type: "bind", Source: "/srv/pip", Target: "/ferry/pip", ReadOnly: true });
    expect(withCommand).toMatchObject({ Entrypoint: ["python3", "-c", "print(1)"], Cmd: [] });
    const plain = buildContainerSpec(spec, settings());
    expect(plain.Entrypoint).toBeUndefined();
    expect(plain.Cmd).toBeUndefined();
  });

  it("uses the label prefix for names and labels", () => {
    const request = buildContainerSpec(spec, settings({ labelPrefix: "staging" }));
    expect(request.name).toBe(`staging-run-${spec.flowRunId}`);
    expect(request.Labels!["staging.managed"]).toBe("true");
    expect(request.HostConfig!.Mounts![0]!.Source).toBe("staging-cache-ws-ws-1-3f2a9c");
  });

  it("rejects a spec whose ids cannot name a container or a volume", () => {
    expect(() => buildContainerSpec({ ...spec, flowRunId: "../x", cacheKey: "sha256:abc" }, settings())).toThrow(
      expect.objectContaining({ code: "validation_failed", message: expect.stringMatching(/flowRunId .*; cacheKey/) }),
    );
    expect(() => buildContainerSpec({ ...spec, memoryMib: 0.5 }, settings())).toThrow(/memoryMib/);
    expect(() => buildContainerSpec({ ...spec, workspaceId: "../other" }, settings())).toThrow(/workspaceId/);
  });
});

describe("parseDockerRunnerOptions", () => {
  it("fills in the documented defaults", () => {
    const { docker: _docker, ...config } = settings();
    expect(config).toEqual({
      network: "isolated",
      extraHosts: ["host.docker.internal:host-gateway"],
      binds: [],
      engineCommand: null,
      stopGraceSeconds: 10,
      labelPrefix: "ferry",
      pidsLimit: 1024,
      init: true,
      pull: "missing",
      user: "10001:10001",
      runtime: null,
      networkName: "ferry-runs",
    });
  });

  it("names every bad option and how to fix it", () => {
    expect(() =>
      settings({
        network: "overlay" as never,
        extraHosts: ["nocolon"],
        binds: ["relative:/x", "/a:/b:rw", "/srv/cache:/ferry/cache/pip"],
        engineCommand: [],
        stopGraceSeconds: -1,
        labelPrefix: "Ferry!",
        pidsLimit: 2,
        pull: "always" as never,
        user: "0:0",
        runtime: "run sc",
      }),
    ).toThrow(
      expect.objectContaining({
        code: "validation_failed",
        details: {
          issues: [
            expect.objectContaining({ path: "network" }),
            expect.objectContaining({ path: "extraHosts/0" }),
            expect.objectContaining({ path: "binds/0", message: expect.stringContaining("absolute") }),
            expect.objectContaining({ path: "binds/1", message: expect.stringContaining("read-only") }),
            expect.objectContaining({ path: "binds/2", message: expect.stringContaining("dependency cache") }),
            expect.objectContaining({ path: "engineCommand" }),
            expect.objectContaining({ path: "stopGraceSeconds" }),
            expect.objectContaining({ path: "labelPrefix" }),
            expect.objectContaining({ path: "pidsLimit" }),
            expect.objectContaining({ path: "pull" }),
            expect.objectContaining({ path: "user", message: expect.stringContaining("must not be root") }),
            expect.objectContaining({ path: "runtime" }),
          ],
        },
      }),
    );
  });

  it("refuses a user given by name (it could be root in the image), and binds over the home or scratch tmpfs", () => {
    expect(() => settings({ user: "ferry" })).toThrow(expect.objectContaining({ details: { issues: [expect.objectContaining({ path: "user", message: expect.stringContaining("numeric uid:gid") })] } }));
    expect(() => settings({ binds: ["/srv/x:/tmp"] })).toThrow(/scratch/);
    expect(() => settings({ binds: ["/srv/x:/home/ferry/"] })).toThrow(/home/);
    expect(settings({ binds: ["/tmp/repo:/tmp/repo"] }).binds).toEqual([{ source: "/tmp/repo", target: "/tmp/repo" }]);
  });

  it("accepts a bind written with :ro", () => {
    expect(settings({ binds: ["/opt/engine:/ferry/engine:ro"] }).binds).toEqual([{ source: "/opt/engine", target: "/ferry/engine" }]);
  });
});

describe("buildWarmContainerSpec", () => {
  const { flowRunId: _run, env: _env, ...warmSpec } = spec;

  it("is a run's container without the run: no run label or run env, a warm name, stdin open for one hand-off", () => {
    const request = buildWarmContainerSpec(warmSpec, "warm-00ff", settings());
    const cold = buildContainerSpec(spec, settings());
    expect(request.name).toBe("ferry-warm-00ff");
    expect(request.Labels).toEqual({ "ferry.managed": "true", "ferry.workspace_id": "ws-1", "ferry.cache_key": "3f2a9c", "ferry.warm": "true" });
    expect(request.Env).toEqual(["HOME=/home/ferry", "TMPDIR=/tmp", "FERRY_ENGINE_WARM=1", "FERRY_CACHE_DIR=/ferry/cache"]);
    expect(request).toMatchObject({ OpenStdin: true, StdinOnce: true, AttachStdin: true });
    // The same sandbox, limits and cache volume as the run's own container would get.
    expect(request.HostConfig).toEqual(cold.HostConfig);
    expect(request.User).toBe(cold.User);
  });

  it("gives the engine at the hand-off the environment a cold container starts with", () => {
    expect(containerEnv(spec.env)).toEqual({
      HOME: "/home/ferry",
      TMPDIR: "/tmp",
      FERRY_API_URL: "http://host.docker.internal:4200",
      FERRY_FLOW_RUN_ID: spec.flowRunId,
      FERRY_CACHE_DIR: "/ferry/cache",
    });
  });

  it("reads a taken warm container's run from its name", () => {
    expect(flowRunIdFromName("ferry", ["/ferry-run-abc"])).toBe("abc");
    expect(flowRunIdFromName("ferry", ["/ferry-warm-00ff"])).toBeNull();
    expect(flowRunIdFromName("other", ["/ferry-run-abc"])).toBeNull();
  });
});
