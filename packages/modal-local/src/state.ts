import { ChangeSignal } from "./change-signal.js";
import { newId } from "./ids.js";
import { SandboxOutput } from "./sandbox-output.js";
import type { GenericResult } from "./sandbox-result.js";

export interface EnvironmentRecord {
  id: string;
  name: string;
}

export interface AppRecord {
  id: string;
  name: string;
  environmentName: string;
  createdAt: number;
}

export interface SecretRecord {
  id: string;
  /** null for an ephemeral secret. */
  name: string | null;
  environmentName: string;
  env: Record<string, string>;
  ephemeral: boolean;
  createdAt: number;
}

export interface ImageRecord {
  id: string;
  /** Hash of what defines the image; a second ImageGetOrCreate of the same content finds this one. */
  contentKey: string;
  dockerfileCommands: string[];
  baseImages: { dockerTag: string; imageId: string }[];
  /** What a sandbox of this image runs on the Docker engine; null when nothing was built (no engine). */
  dockerRef: string | null;
  status: "building" | "built" | "failed";
  result: GenericResult | null;
  logs: string[];
  /** How many times it was built (a cache hit does not build). */
  builds: number;
  /** Whether what runs has its own layers' commands applied (false: recorded only). */
  layersApplied: boolean;
  changed: ChangeSignal;
}

export interface SandboxRecord {
  id: string;
  version: 1 | 2;
  appId: string;
  environmentName: string;
  name: string | null;
  tags: Record<string, string>;
  imageId: string;
  command: string[];
  /** Variables from its secrets (ephemeral or named), as the container gets them. */
  env: Record<string, string>;
  secretIds: string[];
  timeoutSecs: number;
  workdir: string | null;
  milliCpu: number | null;
  memoryMib: number | null;
  memoryLimitMib: number | null;
  gpu: string | null;
  regions: string[];
  createdAt: number;
  /** Set once the sandbox has a task: a container started (or, without an engine, at once). */
  taskId: string;
  scheduled: boolean;
  startedAt: number | null;
  finishedAt: number | null;
  result: GenericResult | null;
  terminateRequested: boolean;
  /** Why the engine refused the last terminate's stop, or null. */
  stopError: string | null;
  containerId: string | null;
  stdout: SandboxOutput;
  stderr: SandboxOutput;
  changed: ChangeSignal;
}

export const DEFAULT_ENVIRONMENT = "main";

/** Everything a local Modal workspace holds, in memory. */
export class ModalLocalState {
  readonly environments = new Map<string, EnvironmentRecord>();
  readonly apps = new Map<string, AppRecord>();
  readonly secrets = new Map<string, SecretRecord>();
  readonly images = new Map<string, ImageRecord>();
  readonly sandboxes = new Map<string, SandboxRecord>();

  constructor(environmentNames: string[]) {
    for (const name of environmentNames) this.environments.set(name, { id: newId("en"), name });
  }

  /** An environment name as the client sent it: empty is the workspace's default. */
  environmentName(name: string): string {
    return name === "" ? DEFAULT_ENVIRONMENT : name;
  }

  findApp(name: string, environmentName: string): AppRecord | undefined {
    for (const app of this.apps.values()) if (app.name === name && app.environmentName === environmentName) return app;
    return undefined;
  }

  findNamedSecret(name: string, environmentName: string): SecretRecord | undefined {
    for (const secret of this.secrets.values()) if (secret.name === name && secret.environmentName === environmentName) return secret;
    return undefined;
  }

  findImageByContent(contentKey: string): ImageRecord | undefined {
    for (const image of this.images.values()) if (image.contentKey === contentKey) return image;
    return undefined;
  }

  /** The running sandbox of that name in the app (names are unique among an app's running sandboxes). */
  findRunningSandbox(appId: string, name: string): SandboxRecord | undefined {
    for (const sb of this.sandboxes.values()) if (sb.appId === appId && sb.name === name && sb.result === null) return sb;
    return undefined;
  }

  /** The most recent sandbox of that name in the app, running or finished. */
  findLatestSandbox(appId: string, name: string): SandboxRecord | undefined {
    let latest: SandboxRecord | undefined;
    for (const sb of this.sandboxes.values()) if (sb.appId === appId && sb.name === name && (latest === undefined || sb.createdAt >= latest.createdAt)) latest = sb;
    return latest;
  }

  newSandbox(fields: Omit<SandboxRecord, "id" | "taskId" | "scheduled" | "startedAt" | "finishedAt" | "result" | "terminateRequested" | "stopError" | "containerId" | "stdout" | "stderr" | "changed">): SandboxRecord {
    const record: SandboxRecord = {
      ...fields,
      id: newId(fields.version === 1 ? "sb" : "sb2"),
      taskId: newId("ta"),
      scheduled: false,
      startedAt: null,
      finishedAt: null,
      result: null,
      terminateRequested: false,
      stopError: null,
      containerId: null,
      stdout: new SandboxOutput(),
      stderr: new SandboxOutput(),
      changed: new ChangeSignal(),
    };
    this.sandboxes.set(record.id, record);
    return record;
  }
}

/** Whether a sandbox carries every one of `wanted` (Modal's list filter: "at least those tags"). */
export function hasTags(tags: Record<string, string>, wanted: { tagName: string; tagValue: string }[]): boolean {
  return wanted.every((t) => tags[t.tagName] === t.tagValue);
}
