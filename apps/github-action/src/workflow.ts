import * as github from "@actions/github";
import { isFerryError } from "@ferry/core";
import { ActionInputError } from "./inputs.js";
import type { PullRequestContext } from "./pr-guard.js";

/** What the action needs from the workflow run, read once from the GitHub context. */
export interface Workflow {
  owner: string;
  repo: string;
  sha: string;
  serverUrl: string;
  apiUrl: string;
  runId: number;
  runAttempt: number;
  /** `GITHUB_JOB`: the job's id. */
  job: string;
  workspace: string;
  /** `GITHUB_EVENT_NAME`, the pull request's number (when the event has one). */
  pr: PullRequestContext;
  hasSummary: boolean;
}

/** A step failure that has already been explained (annotation, summary); only its message is left to report. */
export class StepFailedError extends Error {
  readonly code = "step_failed";
}

export function readWorkflow(): Workflow {
  const ctx = github.context;
  const repository = process.env.GITHUB_REPOSITORY ?? "";
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new Error("GITHUB_REPOSITORY is not set to OWNER/REPO; run this action inside a GitHub Actions workflow");
  }
  const [owner, repo] = repository.split("/") as [string, string];
  const pr = ctx.payload.pull_request?.number ?? ctx.payload.number;
  return {
    owner,
    repo,
    sha: ctx.sha ?? "",
    serverUrl: (ctx.serverUrl || "https://github.com").replace(/\/+$/, ""),
    apiUrl: ctx.apiUrl || "https://api.github.com",
    runId: ctx.runId,
    runAttempt: Number.isFinite(ctx.runAttempt) ? ctx.runAttempt : 1,
    job: process.env.GITHUB_JOB || ctx.job || "job",
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    pr: { event: process.env.GITHUB_EVENT_NAME || ctx.eventName || "", owner, repo, number: typeof pr === "number" ? pr : null },
    hasSummary: Boolean(process.env.GITHUB_STEP_SUMMARY),
  };
}

/** Runs one phase; a Ferry error from it is pinned on the input to fix (the key and URL are checked first). */
export async function phase<T>(input: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isFerryError(error)) {
      if (error.code === "unauthenticated" || error.code === "forbidden") throw new ActionInputError("api-key", `was refused by the Ferry server: ${error.message}`);
      if (error.code === "network" || error.code === "unavailable") throw new ActionInputError("api-url", `does not lead to a working Ferry server: ${error.message}`);
      throw new ActionInputError(input, `was rejected by the Ferry server: ${error.message}`);
    }
    throw error;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
