import { sdkReturnCode, type GenericResult } from "./sandbox-result.js";
import type { ModalLocalState, SandboxRecord } from "./state.js";

/** A sandbox as a test sees it. `env` holds its variables (secrets included): a test server's view, never logged. */
export interface SandboxView {
  id: string;
  version: 1 | 2;
  appId: string;
  appName: string;
  environmentName: string;
  name: string | null;
  tags: Record<string, string>;
  imageId: string;
  /** What the image runs on the engine, or null in memory. */
  imageRef: string | null;
  command: string[];
  env: Record<string, string>;
  secretIds: string[];
  timeoutSecs: number;
  milliCpu: number | null;
  memoryMib: number | null;
  memoryLimitMib: number | null;
  gpu: string | null;
  regions: string[];
  taskId: string;
  containerId: string | null;
  status: "pending" | "running" | "finished";
  result: GenericResult | null;
  /** What the SDK's `wait()` gives (124 timeout, 137 terminated), once finished. */
  exitCode: number | null;
  terminateRequested: boolean;
  /** Why the engine refused the last terminate's stop, or null. */
  stopError: string | null;
  stdout: string;
  stderr: string;
  createdAt: string;
}

export function describeSandbox(state: ModalLocalState, sb: SandboxRecord): SandboxView {
  const image = state.images.get(sb.imageId);
  return {
    id: sb.id,
    version: sb.version,
    appId: sb.appId,
    appName: state.apps.get(sb.appId)?.name ?? "",
    environmentName: sb.environmentName,
    name: sb.name,
    tags: { ...sb.tags },
    imageId: sb.imageId,
    imageRef: image?.dockerRef ?? null,
    command: [...sb.command],
    env: { ...sb.env },
    secretIds: [...sb.secretIds],
    timeoutSecs: sb.timeoutSecs,
    milliCpu: sb.milliCpu,
    memoryMib: sb.memoryMib,
    memoryLimitMib: sb.memoryLimitMib,
    gpu: sb.gpu,
    regions: [...sb.regions],
    taskId: sb.taskId,
    containerId: sb.containerId,
    status: sb.result !== null ? "finished" : sb.scheduled ? "running" : "pending",
    result: sb.result === null ? null : { ...sb.result },
    exitCode: sb.result === null ? null : sdkReturnCode(sb.result),
    terminateRequested: sb.terminateRequested,
    stopError: sb.stopError,
    stdout: sb.stdout.text(),
    stderr: sb.stderr.text(),
    createdAt: new Date(sb.createdAt).toISOString(),
  };
}

export interface ModalLocalSnapshot {
  environments: { id: string; name: string }[];
  apps: { id: string; name: string; environmentName: string }[];
  /** Secrets by name and keys; values are left out. */
  secrets: { id: string; name: string | null; environmentName: string; keys: string[]; ephemeral: boolean }[];
  images: { id: string; dockerfileCommands: string[]; baseImages: { dockerTag: string; imageId: string }[]; dockerRef: string | null; status: string; builds: number; layersApplied: boolean; exception: string | null }[];
  sandboxes: Omit<SandboxView, "env" | "stdout" | "stderr">[];
}

export function snapshotState(state: ModalLocalState): ModalLocalSnapshot {
  return {
    environments: [...state.environments.values()].map((e) => ({ ...e })),
    apps: [...state.apps.values()].map((a) => ({ id: a.id, name: a.name, environmentName: a.environmentName })),
    secrets: [...state.secrets.values()].map((s) => ({ id: s.id, name: s.name, environmentName: s.environmentName, keys: Object.keys(s.env).sort(), ephemeral: s.ephemeral })),
    images: [...state.images.values()].map((i) => ({
      id: i.id,
      dockerfileCommands: [...i.dockerfileCommands],
      baseImages: i.baseImages.map((b) => ({ ...b })),
      dockerRef: i.dockerRef,
      status: i.status,
      builds: i.builds,
      layersApplied: i.layersApplied,
      exception: i.status === "failed" ? (i.result?.exception ?? null) : null,
    })),
    sandboxes: [...state.sandboxes.values()]
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((sb) => {
        const { env: _env, stdout: _out, stderr: _err, ...rest } = describeSandbox(state, sb);
        return rest;
      }),
  };
}
