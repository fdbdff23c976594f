import { invalidArgument } from "./grpc-error.js";
import { memoryMib } from "./quantity.js";
import type { Message } from "./run-state.js";
import { durationSeconds } from "./time.js";

const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
/** Cloud Run sets these on every task; a job may not. */
const RESERVED_ENV = new Set(["CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT", "CLOUD_RUN_TASK_COUNT"]);
/** The most memory Cloud Run allows for a number of CPUs (jobs: up to 8 CPUs, 32 GiB). */
const MAX_MEMORY_MIB_PER_CPU: [number, number][] = [
  [1, 4 * 1024],
  [2, 8 * 1024],
  [4, 16 * 1024],
  [8, 32 * 1024],
];

/** Google Cloud's rule for labels: keys start with a lower-case letter, keys and values at most 63 lower-case letters, digits, `_` and `-`. */
export function validateLabels(labels: Record<string, string> | undefined, field: string): void {
  const entries = Object.entries(labels ?? {});
  if (entries.length > 64) throw invalidArgument(`${field}: at most 64 labels.`);
  for (const [key, value] of entries) {
    if (key.startsWith("run.googleapis.com/") || key.startsWith("cloud.googleapis.com/")) throw invalidArgument(`${field}: the label '${key}' is reserved by Cloud Run.`);
    if (!LABEL_KEY.test(key)) throw invalidArgument(`${field}: label key '${key}' is invalid: use at most 63 lower-case letters, digits, underscores and hyphens, starting with a lower-case letter.`);
    if (!LABEL_VALUE.test(value)) throw invalidArgument(`${field}: label value '${value}' of '${key}' is invalid: use at most 63 lower-case letters, digits, underscores and hyphens.`);
  }
}

/** CPUs of a Kubernetes CPU quantity (`1000m`, `2`); null when it is not one. */
export function cpuCount(quantity: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity.trim());
  if (match === null) return null;
  return Number(match[1]) / (match[2] === "m" ? 1000 : 1);
}

/** Cloud Run's limits on a job's template: tasks, retries, timeout, CPU and memory, env names. */
export function validateJobTemplate(template: Message): void {
  const taskCount = Number(template.taskCount ?? 1);
  if (!Number.isInteger(taskCount) || taskCount < 1 || taskCount > 10_000) throw invalidArgument(`job.template.task_count: ${taskCount} is out of range: use 1 to 10000.`);
  const task = template.template as Message;
  const maxRetries = Number(task.maxRetries ?? 3);
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) throw invalidArgument(`job.template.template.max_retries: ${maxRetries} is out of range: use 0 to 10.`);
  const timeout = durationSeconds(task.timeout, 600);
  if (timeout < 1 || timeout > 604_800) throw invalidArgument(`job.template.template.timeout: ${timeout}s is out of range: use 1s to 604800s (168 hours).`);
  validateLabels(template.labels, "job.template.labels");
  for (const [index, container] of (task.containers as Message[]).entries()) {
    const field = `job.template.template.containers[${index}]`;
    const limits = (container.resources?.limits ?? {}) as Record<string, string>;
    const cpu = cpuCount(limits.cpu ?? "1000m");
    if (cpu === null || cpu <= 0 || cpu > 8) throw invalidArgument(`${field}.resources.limits.cpu: '${limits.cpu ?? ""}' is not a CPU count Cloud Run accepts: use e.g. 1000m, 1, 2, 4 or 8.`);
    const memory = memoryMib(limits.memory ?? "512Mi");
    if (memory === null) throw invalidArgument(`${field}.resources.limits.memory: '${limits.memory ?? ""}' is not a quantity: use e.g. 512Mi or 2Gi.`);
    const cap = MAX_MEMORY_MIB_PER_CPU.find(([cpus]) => cpu <= cpus)![1];
    if (memory < 128 || memory > cap) throw invalidArgument(`${field}.resources.limits.memory: Invalid value specified for container memory. For ${cpu} CPU, memory must be between 128Mi and ${cap / 1024}Gi inclusive.`);
    for (const variable of (container.env as Message[] | undefined) ?? []) {
      const name = variable.name as string | undefined;
      if (!name || name.includes("=")) throw invalidArgument(`${field}.env: '${name ?? ""}' is not an environment variable name.`);
      if (RESERVED_ENV.has(name)) throw invalidArgument(`${field}.env: ${name} is reserved: Cloud Run sets it for every task.`);
    }
  }
}

/** Cloud Run's limits on RunJob's overrides. */
export function validateOverrides(overrides: Message | undefined): void {
  if (overrides === undefined) return;
  if (overrides.taskCount !== undefined && (!Number.isInteger(Number(overrides.taskCount)) || Number(overrides.taskCount) < 0 || Number(overrides.taskCount) > 10_000)) throw invalidArgument(`overrides.task_count: ${String(overrides.taskCount)} is out of range: use 1 to 10000.`);
  if (overrides.timeout !== undefined) {
    const timeout = durationSeconds(overrides.timeout, 600);
    if (timeout < 1 || timeout > 604_800) throw invalidArgument(`overrides.timeout: ${timeout}s is out of range: use 1s to 604800s (168 hours).`);
  }
  for (const [index, container] of ((overrides.containerOverrides as Message[] | undefined) ?? []).entries()) {
    for (const variable of (container.env as Message[] | undefined) ?? []) {
      const name = variable.name as string | undefined;
      if (!name || name.includes("=")) throw invalidArgument(`overrides.container_overrides[${index}].env: '${name ?? ""}' is not an environment variable name.`);
      if (RESERVED_ENV.has(name)) throw invalidArgument(`overrides.container_overrides[${index}].env: ${name} is reserved: Cloud Run sets it for every task.`);
    }
  }
}
