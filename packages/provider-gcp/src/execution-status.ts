import type { InfrastructureStatus } from "@ferry/core";
import type { protos } from "@google-cloud/run";

type IExecution = protos.google.cloud.run.v2.IExecution;
type ITask = protos.google.cloud.run.v2.ITask;
type ICondition = protos.google.cloud.run.v2.ICondition;

/** Enums arrive as names from the official client (gax's default), as numbers from some paths: both are read. */
const STATE = { CONDITION_PENDING: 1, CONDITION_RECONCILING: 2, CONDITION_FAILED: 3, CONDITION_SUCCEEDED: 4 } as const;
const EXECUTION_REASON = { NON_ZERO_EXIT_CODE: 2, CANCELLED: 3, CANCELLING: 4, DELETED: 5 } as const;

const is = <K extends string>(value: unknown, name: K, table: Record<K, number>) => value === name || value === table[name];

function condition(execution: IExecution, type: string): ICondition | undefined {
  return execution.conditions?.find((c) => c.type === type);
}

const num = (v: number | string | null | undefined | { toString(): string }) => (v === null || v === undefined ? 0 : Number(v));

/** The conditions' own words, once each, failed ones first. */
function conditionMessages(execution: IExecution): string[] {
  const conditions = [...(execution.conditions ?? [])].sort((a, b) => Number(is(b.state, "CONDITION_FAILED", STATE)) - Number(is(a.state, "CONDITION_FAILED", STATE)));
  const texts = conditions.map((c) => c.message?.trim() ?? "").filter(Boolean);
  return [...new Set(texts)];
}

/** What Cloud Run says went wrong, in words a user can act on (the fix named where there is one). */
export function explainFailure(text: string, reason?: string | number | null): string {
  const said = text || "Cloud Run gave no reason";
  if (/image .* not found|CONTAINER_MISSING|manifest unknown|not found: image/i.test(said) || reason === "CONTAINER_MISSING" || reason === 6) {
    return `the image could not be pulled: ${said} (check the image name and tag, and that it was pushed to the registry)`;
  }
  if (/permission.*image|CONTAINER_PERMISSION_DENIED|denied.*pull|pull.*denied/i.test(said) || reason === "CONTAINER_PERMISSION_DENIED" || reason === 7) {
    return `Cloud Run may not pull the image: ${said} (grant the job's service account roles/artifactregistry.reader on the repository)`;
  }
  if (/secret/i.test(said) && (/not found|permission|denied|SECRETS_ACCESS_CHECK_FAILED/i.test(said) || reason === "SECRETS_ACCESS_CHECK_FAILED" || reason === 12)) {
    return `a secret of env_from_secrets could not be read: ${said} (check that the secret and version exist, and grant the job's service account roles/secretmanager.secretAccessor)`;
  }
  if (/permission|denied|forbidden/i.test(said)) return `permission denied: ${said} (grant the role named there to the job's service account)`;
  if (/quota|resource.?exhausted|limit.*(reached|exceeded).*(instances|cpu|jobs)/i.test(said)) return `a Cloud Run quota was reached: ${said} (raise the quota in the project, or wait for other jobs to end)`;
  if (/memory limit|out of memory|OOM/i.test(said)) return `the container ran out of memory: ${said} (raise the memory job variable)`;
  if (/timeout|timed out|deadline/i.test(said)) return `the run took longer than its timeout: ${said} (raise the timeout job variable)`;
  return said;
}

/** The exit code of a task's last attempt, or 128 + the signal that ended it (as a shell reports it). */
function attemptExit(task: ITask | undefined): { exitCode: number; message?: string } | null {
  const attempt = task?.lastAttemptResult;
  if (!attempt) return null;
  const signal = num(attempt.termSignal);
  const code = num(attempt.exitCode);
  const said = attempt.status?.message?.trim() ?? "";
  if (signal > 0) return { exitCode: 128 + signal, message: explainFailure(said || `the container was ended by signal ${signal}`) };
  // A status of OK (code 0) with exit code 0 is success; an attempt that failed says so in its status.
  if (code !== 0) return { exitCode: code, ...(said && !/exited with an error/i.test(said) ? { message: explainFailure(said) } : {}) };
  if (num(attempt.status?.code) === 0) return { exitCode: 0 };
  return null;
}

/**
 * Cloud Run's view of a run's execution as an InfrastructureStatus. `task` is the execution's task (a
 * run has one); its last attempt holds the exit code or the signal, which the execution does not.
 * Pending until the task runs; an execution that ended without its container exiting (the image could
 * not be pulled, no permission, a quota) is `failed` with the reason in plain words, so the run is
 * Crashed with it.
 */
export function executionStatus(execution: IExecution, task?: ITask): InfrastructureStatus {
  const completed = condition(execution, "Completed");
  const done = Boolean(execution.completionTime) || is(completed?.state, "CONDITION_SUCCEEDED", STATE) || is(completed?.state, "CONDITION_FAILED", STATE);
  const messages = conditionMessages(execution);
  if (!done) {
    if (num(execution.runningCount) > 0) return { phase: "running" };
    // A condition that already failed for good (the image is missing) ends the run now, not after Cloud Run gives up.
    const failed = execution.conditions?.find((c) => c.type !== "Completed" && c.type !== "Retry" && is(c.state, "CONDITION_FAILED", STATE));
    if (failed) return { phase: "failed", message: explainFailure(failed.message?.trim() ?? "", failed.reason) };
    const pending = execution.conditions?.find((c) => !is(c.state, "CONDITION_SUCCEEDED", STATE) && c.message);
    return { phase: "pending", message: pending?.message ? `Cloud Run is starting the job: ${pending.message}` : "Cloud Run is starting the job" };
  }
  const exit = attemptExit(task);
  const cancelled = num(execution.cancelledCount) > 0 || is(completed?.executionReason, "CANCELLED", EXECUTION_REASON);
  if (cancelled) {
    if (exit && exit.exitCode !== 0) return { phase: "exited", exitCode: exit.exitCode, message: "the execution was cancelled" };
    return { phase: "failed", message: "the execution was cancelled" };
  }
  if (num(execution.succeededCount) > 0 && num(execution.failedCount) === 0) return { phase: "exited", exitCode: 0 };
  if (exit && exit.exitCode !== 0) return { phase: "exited", exitCode: exit.exitCode, ...(exit.message ? { message: exit.message } : {}) };
  if (exit && exit.exitCode === 0 && is(completed?.state, "CONDITION_SUCCEEDED", STATE)) return { phase: "exited", exitCode: 0 };
  const text = [task?.lastAttemptResult?.status?.message?.trim() ?? "", ...messages].filter(Boolean);
  return { phase: "failed", message: explainFailure([...new Set(text)].join("; "), completed?.reason) };
}

type IJob = protos.google.cloud.run.v2.IJob;

/**
 * A job that never ran: its terminal condition says whether Cloud Run could make it ready. Failed (the
 * image is missing, no permission to pull it) is `failed` with the reason in plain words.
 */
export function jobStatus(job: IJob): InfrastructureStatus {
  const terminal = job.terminalCondition;
  if (terminal && is(terminal.state, "CONDITION_FAILED", STATE)) return { phase: "failed", message: explainFailure(terminal.message?.trim() ?? "", terminal.reason) };
  return { phase: "pending", message: terminal?.message ? `Cloud Run is preparing the job: ${terminal.message}` : "Cloud Run is preparing the job" };
}
