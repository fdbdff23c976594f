import type { RunnerLaunchSpec } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { buildContainerSpec } from "./docker-container-spec.js";
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

  it("mounts the cache volume of the cache key and points FERRY_CACHE_DIR at it, over the spec's value", () => {
    const request = buildContainerSpec(spec, settings());
    expect(request.HostConfig!.Mounts![0]).toMatchObject({ Type: "volume", Source: "ferry-cache-3f2a9c", Target: "/ferry/cache" });
    expect(request.Env).toContain("FERRY_CACHE_DIR=/ferry/cache");
    expect(request.Env).not.toContain("FERRY_CACHE_DIR=/tmp/ignored");
    expect(request.Env).toContain("FERRY_API_URL=http://host.docker.internal:4200");
  });

  it("reaches the host through host-gateway on the bridge network, and needs nothing on the host network", () => {
    expect(buildContainerSpec(spec, settings()).HostConfig).toMatchObject({ NetworkMode: "bridge", ExtraHosts: ["host.docker.internal:host-gateway"] });
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
    expect(request.HostConfig!.Mounts![0]!.Source).toBe("staging-cache-3f2a9c");
  });

  it("rejects a spec whose ids cannot name a container or a volume", () => {
    expect(() => buildContainerSpec({ ...spec, flowRunId: "../x", cacheKey: "sha256:abc" }, settings())).toThrow(
      expect.objectContaining({ code: "validation_failed", message: expect.stringMatching(/flowRunId .*; cacheKey/) }),
    );
    expect(() => buildContainerSpec({ ...spec, memoryMib: 0.5 }, settings())).toThrow(/memoryMib/);
  });
});

describe("parseDockerRunnerOptions", () => {
  it("fills in the documented defaults", () => {
    const { docker: _docker, ...config } = settings();
    expect(config).toEqual({
      network: "bridge",
      extraHosts: ["host.docker.internal:host-gateway"],
      binds: [],
      engineCommand: null,
      stopGraceSeconds: 10,
      labelPrefix: "ferry",
      pidsLimit: 1024,
      init: true,
      pull: "missing",
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
          ],
        },
      }),
    );
  });

  it("accepts a bind written with :ro", () => {
    expect(settings({ binds: ["/opt/engine:/ferry/engine:ro"] }).binds).toEqual([{ source: "/opt/engine", target: "/ferry/engine" }]);
  });
});
