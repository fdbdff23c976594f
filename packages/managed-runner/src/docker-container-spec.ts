import { ENGINE_ENV, type RunnerLaunchSpec, type RunnerWarmSpec } from "@ferry/core";
import type Dockerode from "dockerode";
import { CONTAINER_CACHE_DIR, CONTAINER_HOME_DIR, CONTAINER_SCRATCH_DIR, type ContainerSettings } from "./docker-options.js";
import { validateLaunchSpec } from "./launch-spec.js";

const MIB = 1024 * 1024;

/** The label keys Ferry puts on its containers and cache volumes, under `labelPrefix`. */
export function runnerLabels(labelPrefix: string) {
  return {
    managed: `${labelPrefix}.managed`,
    flowRunId: `${labelPrefix}.flow_run_id`,
    workspaceId: `${labelPrefix}.workspace_id`,
    cacheKey: `${labelPrefix}.cache_key`,
    /** On warm engines' containers, also once renamed to the run's they took: their start is not the run's. */
    warm: `${labelPrefix}.warm`,
  } as const;
}

/** Warm engines' containers are `<prefix>-warm-<random>` until a run takes one and it is renamed to the run's. */
export function warmContainerPrefix(labelPrefix: string): string {
  return `${labelPrefix}-warm-`;
}

/** The flow run of a container by its name (`/<prefix>-run-<id>`), or null. */
export function flowRunIdFromName(labelPrefix: string, names: readonly string[]): string | null {
  const prefix = `${labelPrefix}-run-`;
  for (const name of names) {
    const bare = name.replace(/^\//, "");
    if (bare.startsWith(prefix)) return bare.slice(prefix.length);
  }
  return null;
}

/** A run's environment in its container: HOME and TMPDIR first (a user's env may move them), the cache's place last. */
export function containerEnv(specEnv: Record<string, string>): Record<string, string> {
  return { HOME: CONTAINER_HOME_DIR, TMPDIR: CONTAINER_SCRATCH_DIR, ...specEnv, [ENGINE_ENV.cacheDir]: CONTAINER_CACHE_DIR };
}

/**
 * A warm engine's container: a run's, without the run (no flow-run label, a `warm-` name), with its
 * stdin open for the one hand-off line (`StdinOnce`: it ends when the attach that wrote it closes).
 */
export function buildWarmContainerSpec(spec: RunnerWarmSpec, warmId: string, settings: ContainerSettings): Dockerode.ContainerCreateOptions {
  const base = buildContainerSpec({ ...spec, flowRunId: warmId, env: { [ENGINE_ENV.warm]: "1" } }, settings);
  const labels = runnerLabels(settings.labelPrefix);
  const { [labels.flowRunId]: _run, ...rest } = base.Labels ?? {};
  return {
    ...base,
    name: `${warmContainerPrefix(settings.labelPrefix)}${warmId.replace(/^warm-/, "")}`,
    Labels: { ...rest, [labels.warm]: "true" },
    AttachStdin: true,
    OpenStdin: true,
    StdinOnce: true,
  };
}

export function containerName(labelPrefix: string, flowRunId: string): string {
  return `${labelPrefix}-run-${flowRunId}`;
}

/**
 * A dependency cache belongs to one workspace: its name says which, so two workspaces asking for the
 * same packages never share a writable cache (one could plant code in the other's flows).
 */
export function cacheVolumeName(labelPrefix: string, workspaceId: string, cacheKey: string): string {
  return `${labelPrefix}-cache-ws-${workspaceId}-${cacheKey}`;
}


/** Docker's option that turns inter-container traffic on a bridge network off. */
export const ICC_OPTION = "com.docker.network.bridge.enable_icc";

/** The create-network request of the "isolated" mode: Ferry's runs only, inter-container traffic off. */
export function buildRunsNetworkSpec(labelPrefix: string, name: string): Dockerode.NetworkCreateOptions {
  return {
    Name: name,
    Driver: "bridge",
    CheckDuplicate: true,
    Options: { [ICC_OPTION]: "false" },
    Labels: { [runnerLabels(labelPrefix).managed]: "true" },
  };
}

/**
 * The create-container request for a run. Memory is a hard limit without swap (MemorySwap equal to
 * Memory), so going over it gets the run OOM-killed rather than slowed down; the dependency cache is a
 * named volume shared by the workspace's runs of the same cache key; nothing removes the container on
 * exit, because its exit code and OOMKilled flag are read after it ends.
 *
 * A run is someone else's code: it runs as a non-root user with every capability dropped, cannot gain
 * privileges (setuid binaries), and writes only to its tmpfs scratch and home and its cache volume (the
 * root filesystem is read-only). The tmpfs are as big as the memory limit, which they count against.
 */
export function buildContainerSpec(spec: RunnerLaunchSpec, settings: ContainerSettings): Dockerode.ContainerCreateOptions {
  validateLaunchSpec(spec);
  const labels = runnerLabels(settings.labelPrefix);
  const env = containerEnv(spec.env);
  const memoryBytes = spec.memoryMib * MIB;
  const [uid, gid] = settings.user.split(":");
  const tmpfs = `rw,exec,nosuid,nodev,size=${spec.memoryMib}m`;
  return {
    name: containerName(settings.labelPrefix, spec.flowRunId),
    Image: spec.image,
    User: settings.user,
    WorkingDir: CONTAINER_HOME_DIR,
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
      ...(settings.runtime ? { Runtime: settings.runtime } : {}),
      NetworkMode: settings.network === "isolated" ? settings.networkName : settings.network,
      ...(settings.extraHosts.length > 0 ? { ExtraHosts: settings.extraHosts } : {}),
      Mounts: [
        {
          Type: "volume",
          Source: cacheVolumeName(settings.labelPrefix, spec.workspaceId, spec.cacheKey),
          Target: CONTAINER_CACHE_DIR,
          // Labelled so an operator (and the tests) can find Ferry's caches: `docker volume ls -f label=ferry.managed`.
          VolumeOptions: { NoCopy: false, DriverConfig: { Name: "local", Options: {} }, Labels: cacheVolumeLabels(settings.labelPrefix, spec) },
        },
        ...settings.binds.map((b) => ({ Type: "bind" as const, Source: b.source, Target: b.target, ReadOnly: true })),
      ],
      Tmpfs: {
        [CONTAINER_SCRATCH_DIR]: `${tmpfs},mode=1777`,
        [CONTAINER_HOME_DIR]: `${tmpfs},mode=0700,uid=${uid},gid=${gid}`,
      },
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      // Bounded, and readable by `docker logs` whatever the daemon's default driver is: `wait` reads the tail.
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "1" } },
      RestartPolicy: { Name: "no" },
      AutoRemove: false,
    },
  };
}

/** The labels of a run's cache volume: Ferry's, its workspace's, its key's. */
export function cacheVolumeLabels(labelPrefix: string, spec: Pick<RunnerLaunchSpec, "workspaceId" | "cacheKey">): Record<string, string> {
  const labels = runnerLabels(labelPrefix);
  return { [labels.managed]: "true", [labels.workspaceId]: spec.workspaceId, [labels.cacheKey]: spec.cacheKey };
}
