import * as core from "@actions/core";
import { isFerryError } from "@ferry/core";
import { STATE } from "./cancel.js";
import { deploy, remove } from "./deploy-command.js";
import { ActionInputError, parseInputs } from "./inputs.js";
import { runDeployment } from "./run-command.js";
import { signIn } from "./sign-in.js";
import { readWorkflow, StepFailedError } from "./workflow.js";

/** Runs the action: every failure ends in the one `core.setFailed` below, with the input to fix named. */
export async function run(): Promise<void> {
  // The post step (action.yml `post`) runs the same bundle; this tells it apart.
  core.saveState(STATE.isPost, "true");
  // Masked before anything can print them, even when another input turns out to be wrong.
  for (const secret of [core.getInput("api-key"), core.getInput("github-token")]) if (secret.trim()) core.setSecret(secret.trim());
  try {
    const inputs = parseInputs((name) => core.getInput(name));
    const workflow = readWorkflow();
    const client = await signIn(inputs, {
      env: process.env,
      getIDToken: (audience) => core.getIDToken(audience),
      setSecret: (value) => core.setSecret(value),
      warning: (message) => core.warning(message),
    });
    if (inputs.command === "deploy") await deploy(client, inputs, workflow);
    else if (inputs.command === "delete") await remove(client, inputs, workflow);
    else await runDeployment(client, inputs, workflow);
  } catch (error) {
    core.setFailed(failureMessage(error));
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof ActionInputError || error instanceof StepFailedError) return error.message;
  if (isFerryError(error)) return `Ferry: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
