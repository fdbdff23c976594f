import * as core from "@actions/core";
import type { FerryClient } from "@ferry/core";
import { STATE } from "./cancel.js";
import { cancelRun } from "./run-command.js";
import { DEFAULT_OIDC_AUDIENCE } from "./inputs.js";
import { signIn } from "./sign-in.js";

/**
 * The post step (action.yml `post`, `post-if: always()`): when the main step started a run, waited on
 * it and did not see it end (the workflow was cancelled and the process killed, or it ran out of time),
 * the run is cancelled. Never fails the job: whatever went wrong is a warning.
 */
export async function post(): Promise<void> {
  const id = core.getState(STATE.runId);
  if (!id || core.getState(STATE.settled) === id) return;
  const apiUrl = core.getInput("api-url").trim().replace(/\/+$/, "");
  const apiKey = core.getInput("api-key").trim() || null;
  if (apiKey) core.setSecret(apiKey);
  let client: FerryClient;
  try {
    if (!apiUrl) throw new Error("input 'api-url' is empty");
    // The main step's sign-in again: the same key, or a fresh exchange of the job's OIDC token.
    client = await signIn(
      { apiUrl, apiKey, workspace: core.getInput("workspace").trim() || null, oidcAudience: core.getInput("oidc-audience").trim() || DEFAULT_OIDC_AUDIENCE },
      { env: process.env, getIDToken: (audience) => core.getIDToken(audience), setSecret: (value) => core.setSecret(value), warning: (message) => core.warning(message) },
    );
  } catch (error) {
    core.warning(`flow run ${id} may still be running, and this step could not sign in to cancel it (${(error as Error).message}); cancel it with 'ferry flow-run cancel ${id}'`);
    return;
  }
  await cancelRun(client, id, "the GitHub Actions step stopped before the run ended (the workflow was cancelled or the step timed out)");
}

/** @github/local-action calls the entry's `run`: `local-action . src/post.ts .env` runs the post step. */
export { post as run };
