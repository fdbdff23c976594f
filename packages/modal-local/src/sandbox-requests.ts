import { invalidArgument } from "./rpc.js";

/** Modal's longest sandbox timeout: 24 hours. */
export const MAX_SANDBOX_TIMEOUT_SECS = 24 * 60 * 60;
/** What Modal gives a sandbox created without a timeout: 5 minutes. */
export const DEFAULT_SANDBOX_TIMEOUT_SECS = 300;

export interface SandboxDefinitionMessage {
  entrypointArgs?: string[];
  imageId?: string;
  secretIds?: string[];
  resources?: { memoryMb?: number; memoryMbMax?: number; milliCpu?: number; gpuConfig?: { gpuType?: string; count?: number } | null } | null;
  timeoutSecs?: number;
  workdir?: string;
  schedulerPlacement?: { regions?: string[] } | null;
  name?: string;
  environmentVariables?: { contents?: Record<string, string> } | null;
}

export interface TagMessage {
  tagName: string;
  tagValue: string;
}

/** The parts of a sandbox's definition the local server acts on, checked as Modal checks them. */
export interface SandboxPlan {
  command: string[];
  imageId: string;
  timeoutSecs: number;
  workdir: string | null;
  milliCpu: number | null;
  /** The memory request (Modal schedules by it; no limit). */
  memoryMib: number | null;
  /** The memory limit, when asked for (`memoryLimitMiB`): the container's hard limit. */
  memoryLimitMib: number | null;
  gpu: string | null;
  regions: string[];
  name: string | null;
  env: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9\-_.]{1,64}$/;

export function planSandbox(definition: SandboxDefinitionMessage | null | undefined): SandboxPlan {
  if (!definition) throw invalidArgument("A sandbox definition is required.");
  const timeoutSecs = definition.timeoutSecs || DEFAULT_SANDBOX_TIMEOUT_SECS;
  if (timeoutSecs > MAX_SANDBOX_TIMEOUT_SECS) throw invalidArgument(`Sandbox timeout must be at most 24 hours (${MAX_SANDBOX_TIMEOUT_SECS} seconds), got ${timeoutSecs}.`);
  const name = definition.name ? definition.name : null;
  if (name !== null && !NAME.test(name)) throw invalidArgument(`Invalid Sandbox name: '${name}'. Names may contain only alphanumeric characters, dashes, periods, and underscores, and must be 64 characters or fewer.`);
  if (!definition.imageId) throw invalidArgument("A sandbox needs an image id.");
  const gpuConfig = definition.resources?.gpuConfig;
  const gpu = gpuConfig?.gpuType ? `${gpuConfig.gpuType}${(gpuConfig.count ?? 1) > 1 ? `:${gpuConfig.count}` : ""}` : null;
  return {
    command: definition.entrypointArgs ?? [],
    imageId: definition.imageId,
    timeoutSecs,
    workdir: definition.workdir ? definition.workdir : null,
    milliCpu: definition.resources?.milliCpu ? definition.resources.milliCpu : null,
    memoryMib: definition.resources?.memoryMb ? definition.resources.memoryMb : null,
    memoryLimitMib: definition.resources?.memoryMbMax ? definition.resources.memoryMbMax : null,
    gpu,
    regions: definition.schedulerPlacement?.regions ?? [],
    name,
    env: { ...(definition.environmentVariables?.contents ?? {}) },
  };
}

export function tagsRecord(tags: TagMessage[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) out[t.tagName] = t.tagValue;
  return out;
}

export function tagsList(tags: Record<string, string>): TagMessage[] {
  return Object.entries(tags).map(([tagName, tagValue]) => ({ tagName, tagValue }));
}
