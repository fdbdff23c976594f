import * as core from "@actions/core";
import { FerryClient } from "@ferry/core";
import { STATE } from "./cancel.js";
import { cancelRun } from "./run-command.js";

/**
 * The post step (action.yml `post`, `post-if: always()`): when the main step started a run, waited on
 * it and did not see it end (the workflow was cancelled and the process killed, or it ran out of time),
 * the run is cancelled. Never fails the job: whatever went wrong is a warning.
 */
export async function post(): Promise<void> {
  const id = core.getState(STATE.runId);
  if (!id || core.getState(STATE.settled) === id) return;
  const apiUrl = core.getInput("api-url").trim().replace(/\/+$/, "");
  const apiKey = core.getInput("api-key").trim();
  if (apiKey) core.setSecret(apiKey);
  if (!apiUrl || !apiKey) {
    core.warning(`flow run ${id} may still be running, and inputs 'api-url' and 'api-key' are needed to cancel it; cancel it with 'ferry flow-run cancel ${id}'`);
    return;
  }
  const client = new FerryClient({ apiUrl, apiKey, userAgent: "ferry-github-action" });
  await cancelRun(client, id, "the GitHub Actions step stopped before the run ended (the workflow was cancelled or the step timed out)");
}

/** @github/local-action calls the entry's `run`: `local-action . src/post.ts .env` runs the post step. */
export { post as run };
