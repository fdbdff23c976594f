import { createHash } from "node:crypto";
import type { ModalJobConfiguration } from "./modal-template.js";

/** Tags Ferry puts on a sandbox, so a run's and a pool's sandboxes can be listed. */
export const RUN_TAG = "ferry-flow-run-id";
export const POOL_TAG = "ferry-pool";
export const DEPLOYMENT_TAG = "ferry-deployment-id";

/** Where the pip/npm layer puts the engine's dependency cache (the engine image's cache directory). */
export const IMAGE_CACHE_DIR = "/ferry/cache";

/**
 * The sandbox's name: derived from the run, so a retried submit (another process, after a restart)
 * asks for the same name, and Modal's names being unique per app makes it find the first sandbox
 * instead of starting a second. Modal allows letters, digits, `-`, `.` and `_`, under 64 characters.
 */
export function sandboxNameFor(flowRunId: string): string {
  const safe = flowRunId.replace(/[^A-Za-z0-9._-]/g, "-");
  const name = `ferry-${safe}`;
  return name.length < 64 ? name : `ferry-${createHash("sha256").update(flowRunId).digest("hex").slice(0, 40)}`;
}

/** Tag values: Modal keeps them short; a pool name is at most 100 characters in Ferry. */
export function sandboxTags(context: { flowRunId: string; pool: string; deploymentId: string }): Record<string, string> {
  return { [RUN_TAG]: context.flowRunId, [POOL_TAG]: context.pool, [DEPLOYMENT_TAG]: context.deploymentId };
}

/** The SDK's `SandboxCreateParams` that Ferry sets (the secrets are made by the provider: they need the client). */
export interface SandboxSpec {
  name: string;
  tags: Record<string, string>;
  command: string[];
  timeoutMs: number;
  env: Record<string, string>;
  cpu?: number;
  memoryMiB?: number;
  gpu?: string;
  regions?: string[];
}

/**
 * What the sandbox is created with. The run's variables that hold its token (`runtimeEnv`) are NOT
 * here: they go into an ephemeral Modal secret, never into the command line, the tags or `env` (which
 * Modal shows in the sandbox's description).
 */
export function buildSandboxSpec(
  config: ModalJobConfiguration,
  /** `name`: what the sandbox is named after (core's infrastructureNameFor; default the run's id). */
  context: { flowRunId: string; name?: string; pool: string; deploymentId: string },
): SandboxSpec {
  const layered = config.pip_packages.length > 0 || config.npm_packages.length > 0;
  return {
    name: sandboxNameFor(context.name ?? context.flowRunId),
    tags: sandboxTags(context),
    command: [...config.command],
    timeoutMs: config.timeout * 1000,
    // The engine reads its dependency cache here; the packages' layer filled it at image build.
    env: { ...config.env, ...(layered ? { FERRY_CACHE_DIR: IMAGE_CACHE_DIR } : {}) },
    ...(config.cpu !== null ? { cpu: config.cpu } : {}),
    ...(config.memory !== null ? { memoryMiB: config.memory } : {}),
    ...(config.gpu ? { gpu: config.gpu } : {}),
    ...(config.region ? { regions: [config.region] } : {}),
  };
}

/** Single-quoted for `sh`: a package specifier such as `pandas>=2` holds characters the shell reads. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The key under which Ferry's engine looks for an environment holding exactly these packages: the same
 * formula as the engine's `cacheKey` (packages/engine/src/dep-cache.ts, layout version 1), so an
 * environment the image layer made is the one the engine finds. Order and duplicates do not matter.
 */
export function engineCacheKey(pip: readonly string[], npm: readonly string[]): string {
  const normal = (xs: readonly string[]) => [...new Set(xs.map((x) => x.trim()))].sort();
  const text = JSON.stringify({ v: 1, pip: normal(pip), npm: normal(npm) });
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

/**
 * The image layer that installs `pip_packages` / `npm_packages` where the engine's dependency cache
 * looks (`FERRY_CACHE_DIR`), ending with the marker the engine trusts. Modal caches a layer by its
 * content, so a second run with the same image and packages reuses the built image and the engine
 * finds every package installed: nothing is installed again. None without packages.
 */
export function packageLayer(config: Pick<ModalJobConfiguration, "pip_packages" | "npm_packages">): string[] {
  const pip = config.pip_packages.map((p) => p.trim());
  const npm = config.npm_packages.map((p) => p.trim());
  if (!pip.length && !npm.length) return [];
  const bad = [...pip, ...npm].find((p) => p.startsWith("-") || /[\r\n\0]/.test(p));
  if (bad !== undefined) throw new Error(`package '${bad}' looks like an option or spans lines; give package names or requirement specifiers only`);
  const key = engineCacheKey(pip, npm);
  const root = `${IMAGE_CACHE_DIR}/envs/${key}`;
  const marker = JSON.stringify({ key, pip_packages: pip, npm_packages: npm, created_at: "image-layer", engine_version: "image-layer" });
  const commands = [`RUN mkdir -p ${root}`];
  if (pip.length) {
    commands.push(`RUN python3 -m venv ${root}/venv && ${root}/venv/bin/python -m pip install --no-input --disable-pip-version-check -- ${pip.map(shellQuote).join(" ")}`);
  }
  if (npm.length) commands.push(`RUN npm install --no-audit --no-fund --prefix ${root}/npm -- ${npm.map(shellQuote).join(" ")}`);
  commands.push(`RUN printf '%s' ${shellQuote(marker)} > ${root}/complete.json && chmod -R a+rwX ${IMAGE_CACHE_DIR}`);
  return commands;
}

/**
 * The image layer every sandbox starts from: the registry image with its ENTRYPOINT cleared (Modal
 * keeps an image's ENTRYPOINT and passes the sandbox's command to it as arguments, so `command` would
 * reach the engine image's entrypoint twice), then the packages' layer. Modal builds a layer once per
 * content: every later run of the same image and packages reuses it.
 */
export function imageCommands(config: Pick<ModalJobConfiguration, "pip_packages" | "npm_packages">): string[] {
  return ["ENTRYPOINT []", ...packageLayer(config)];
}
