import { ENGINE_ENV, type RunnerLaunchSpec } from "@ferry/core";
import type Dockerode from "dockerode";
import { CONTAINER_CACHE_DIR, type ContainerSettings } from "./docker-options.js";
import { validateLaunchSpec } from "./launch-spec.js";

const MIB = 1024 * 1024;

/** The label keys Ferry puts on its containers and cache volumes, under `labelPrefix`. */
export function runnerLabels(labelPrefix: string) {
  return {
    managed: `${labelPrefix}.managed`,
    flowRunId: `${labelPrefix}.flow_run_id`,
    workspaceId: `${labelPrefix}.workspace_id`,
    cacheKey: `${labelPrefix}.cache_key`,
  } as const;
}

export function containerName(labelPrefix: string, flowRunId: string): string {
  return `${labelPrefix}-run-${flowRunId}`;
}

export function cacheVolumeName(labelPrefix: string, cacheKey: string): string {
  return `${labelPrefix}-cache-${cacheKey}`;
}

/**
 * The create-container request for a run. Memory is a hard limit without swap (MemorySwap equal to
 * Memory), so going over it gets the run OOM-killed rather than slowed down; the dependency cache is a
 * named volume shared by runs of the same cache key; nothing removes the container on exit, because its
 * exit code and OOMKilled flag are read after it ends.
 */
export function buildContainerSpec(spec: RunnerLaunchSpec, settings: ContainerSettings): Dockerode.ContainerCreateOptions {
  validateLaunchSpec(spec);
  const labels = runnerLabels(settings.labelPrefix);
  const env = { ...spec.env, [ENGINE_ENV.cacheDir]: CONTAINER_CACHE_DIR };
  const memoryBytes = spec.memoryMib * MIB;
  return {
    name: containerName(settings.labelPrefix, spec.flowRunId),
    Image: spec.image,
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    ...(settings.engineCommand ? { Entrypoint: settings.engineCommand, Cmd: [] } : {}),
    Labels: {
      [labels.managed]: "true",
      [labels.flowRunId]: spec.flowRunId,
      [labels.workspaceId]: spec.workspaceId,
      [labels.cacheKey]: spec.cacheKey,
    },
    StopTimeout: settings.stopGraceSeconds,
    HostConfig: {
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(spec.cpus * 1e9),
      PidsLimit: settings.pidsLimit,
      Init: settings.init,
      NetworkMode: settings.network,
      ...(settings.extraHosts.length > 0 ? { ExtraHosts: settings.extraHosts } : {}),
      Mounts: [
        {
          Type: "volume",
          Source: cacheVolumeName(settings.labelPrefix, spec.cacheKey),
          Target: CONTAINER_CACHE_DIR,
          // Labelled so an operator (and the tests) can find Ferry's caches: `docker volume ls -f label=ferry.managed`.
          VolumeOptions: { NoCopy: false, DriverConfig: { Name: "local", Options: {} }, Labels: { [labels.managed]: "true", [labels.cacheKey]: spec.cacheKey } },
        },
        ...settings.binds.map((b) => ({ Type: "bind" as const, Source: b.source, Target: b.target, ReadOnly: true })),
      ],
      SecurityOpt: ["no-new-privileges:true"],
      // Bounded, and readable by `docker logs` whatever the daemon's default driver is: `wait` reads the tail.
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "1" } },
      RestartPolicy: { Name: "no" },
      AutoRemove: false,
    },
  };
}
