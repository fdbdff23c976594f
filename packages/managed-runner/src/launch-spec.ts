import { validationError, type RunnerLaunchSpec, type ValidationIssue } from "@ferry/core";

/**
 * Flow-run ids and cache keys become container, volume and directory names, so they are held to what
 * all three accept (Ferry's own are UUIDs and hex digests).
 */
export const NAME_SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A workspace id also names its cache volumes and directories, beside a cache key: shorter. */
export const WORKSPACE_NAME_SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Rejects a spec no backend could launch, before anything is created for it. */
export function validateLaunchSpec(spec: RunnerLaunchSpec): void {
  const issues: ValidationIssue[] = [];
  if (!NAME_SAFE.test(spec.flowRunId)) issues.push({ path: "flowRunId", message: "must be letters, digits, '_', '.' or '-' (up to 128), starting with a letter or digit" });
  if (!NAME_SAFE.test(spec.cacheKey)) issues.push({ path: "cacheKey", message: "must be letters, digits, '_', '.' or '-' (up to 128), starting with a letter or digit" });
  if (typeof spec.workspaceId !== "string" || !WORKSPACE_NAME_SAFE.test(spec.workspaceId)) issues.push({ path: "workspaceId", message: "must be letters, digits, '_', '.' or '-' (up to 64), starting with a letter or digit" });
  if (typeof spec.image !== "string" || spec.image.length === 0) issues.push({ path: "image", message: "is required" });
  if (!Number.isInteger(spec.memoryMib) || spec.memoryMib < 6) issues.push({ path: "memoryMib", message: "must be a whole number of MiB, 6 or more" });
  if (!Number.isFinite(spec.cpus) || spec.cpus <= 0) issues.push({ path: "cpus", message: "must be a number above 0" });
  for (const [name, value] of Object.entries(spec.env)) {
    if (name.length === 0 || name.includes("=") || name.includes("\0")) issues.push({ path: `env/${name}`, message: "is not a valid variable name" });
    else if (typeof value !== "string" || value.includes("\0")) issues.push({ path: `env/${name}`, message: "must be a string without NUL characters" });
  }
  if (issues.length > 0) throw validationError("invalid runner launch spec", issues);
}
