import { randomUUID } from "node:crypto";
import * as core from "@actions/core";
import { flowRunUiUrl, isFerryError, isTerminal, type FerryClient, type FlowRun, type LogLine } from "@ferry/core";
import { cancelOnSignal, STATE } from "./cancel.js";
import { createOctokit, report, type ReportTarget } from "./github-report.js";
import { runIdempotencyKey } from "./idempotency-key.js";
import type { ActionInputs } from "./inputs.js";
import { formatDuration, watchRun } from "./watch-run.js";
import { escapeHtml, phase, StepFailedError, type Workflow } from "./workflow.js";

/** `run`: starts a deployment's run (once per job, matrix combination and request), follows it, reports it. */
export async function runDeployment(client: FerryClient, inputs: ActionInputs, workflow: Workflow): Promise<void> {
  const ref = inputs.deployment!;
  const deployment = await phase("deployment", () => client.resolveDeployment(ref));
  const name = `${deployment.flow_name}/${deployment.name}`;
  const idempotencyKey = runIdempotencyKey({
    runId: workflow.runId,
    attempt: inputs.newRunPerAttempt ? workflow.runAttempt : null,
    job: workflow.job,
    matrix: inputs.matrix,
    deployment: deployment.id,
    parameters: inputs.parameters,
    jobVariables: inputs.jobVariables,
  });
  const { flow_run: created, created: isNew } = await phase("parameters", () =>
    client.api.createFlowRun({
      params: { id: deployment.id },
      body: { parameters: inputs.parameters, job_variables: inputs.jobVariables, idempotency_key: idempotencyKey },
    }),
  );
  // The run's page in the web UI the server serves (the JSON API would answer a browser 401).
  const url = flowRunUiUrl(inputs.apiUrl, created.id);
  core.setOutput("flow-run-id", created.id);
  core.setOutput("flow-run-url", url);
  core.info(`${isNew ? "Started" : "Already started by this job:"} flow run ${created.name} (${created.id}) of ${name}: ${url}`);

  let final: FlowRun = created;
  let timedOut = false;
  let lastLines: LogLine[] = [];
  if (inputs.wait) {
    // From here on, a cancelled workflow cancels the run: the signal handler now, the post step if this process dies first.
    core.saveState(STATE.runId, created.id);
    const stopCancelling = cancelOnSignal(
      process,
      (signal) => cancelRun(client, created.id, `the GitHub Actions workflow was cancelled (${signal} while the step waited on the run)`),
      () => {
        core.setFailed(`the workflow was cancelled; flow run ${created.id} of ${name} was cancelled with it`);
        process.exit(1);
      },
    );
    core.startGroup(`Logs of flow run ${created.name}`);
    // The flow's output must not be read as workflow commands (::set-output, ::add-mask…).
    const stop = randomUUID();
    core.info(`::stop-commands::${stop}`);
    try {
      ({ run: final, timedOut, lastLines } = await watchRun(client, created.id, {
        timeoutSeconds: inputs.timeoutSeconds,
        onLog: (l) => core.info(`${l.timestamp.slice(11, 19)} ${l.level.toUpperCase().padEnd(7)} ${l.message}`),
      }));
      core.saveState(STATE.settled, created.id);
    } finally {
      stopCancelling();
      core.info(`::${stop}::`);
      core.endGroup();
    }
  }
  const state = timedOut ? "TIMED_OUT" : final.state.type;
  core.setOutput("state", final.state.type);
  const failed = inputs.wait && (timedOut || final.state.type !== "COMPLETED");
  const why = timedOut
    ? `did not finish within ${inputs.timeoutSeconds} s and was cancelled (now ${final.state.type}); raise input 'timeout' if it needs longer`
    : `ended ${final.state.type}${final.state.message ? `: ${final.state.message}` : ""}`;

  if (workflow.hasSummary) await writeRunSummary(name, final, state, url, failed ? lastLines : []);
  if (inputs.githubToken) {
    const target: ReportTarget = workflow.pr.number
      ? { kind: "pull-request", owner: workflow.owner, repo: workflow.repo, number: workflow.pr.number }
      : { kind: "commit", owner: workflow.owner, repo: workflow.repo, sha: workflow.sha };
    try {
      const done = await report(createOctokit(inputs.githubToken, workflow.apiUrl), target, {
        deployment: name,
        state,
        url,
        body: `**Ferry** flow run [${final.name}](${url}) of \`${name}\`: **${state}** (${formatDuration(final)})`,
      });
      core.info(`GitHub: ${done}`);
    } catch (error) {
      // The run's outcome is the step's outcome; a report GitHub refused is worth a warning, not a failure.
      core.warning(`could not report to GitHub with input 'github-token' (${(error as Error).message}); give the workflow 'pull-requests: write' and 'statuses: write' permissions`);
    }
  }
  if (failed) {
    core.error(`Flow run ${final.name} of ${name} ${why}`, { title: `Ferry flow run ${state}` });
    throw new StepFailedError(`flow run ${created.id} of ${name} ${why}`);
  }
  if (inputs.wait) core.info(`Flow run ${final.name} COMPLETED in ${formatDuration(final)}`);
}

/**
 * Cancels a run this step left unfinished; used by the signal handler and the post step. A run that
 * ended meanwhile is left alone; a failure is a warning (the job is being cancelled anyway).
 */
export async function cancelRun(client: FerryClient, id: string, reason: string): Promise<void> {
  try {
    const run = await client.api.getFlowRun({ params: { id } });
    if (isTerminal(run.state.type)) {
      core.info(`Flow run ${id} already ended ${run.state.type}`);
    } else {
      const after = await client.api.cancelFlowRun({ params: { id }, body: { reason } });
      core.info(`Cancelled flow run ${id} (now ${after.state.type}): ${reason}`);
    }
    core.saveState(STATE.settled, id);
  } catch (error) {
    if (isFerryError(error) && error.code === "invalid_transition") return; // it ended between the read and the cancel
    core.warning(`could not cancel flow run ${id} (${(error as Error).message}); cancel it with 'ferry flow-run cancel ${id}'`);
  }
}

async function writeRunSummary(name: string, run: FlowRun, state: string, url: string, lastLines: LogLine[]): Promise<void> {
  const summary = core.summary
    .addHeading(`Ferry flow run ${state === "COMPLETED" ? "✅" : state === "RUNNING" || state === "SCHEDULED" || state === "PENDING" ? "⏳" : "❌"} ${state}`, 3)
    .addTable([
      [{ data: "Deployment", header: true }, { data: "Flow run", header: true }, { data: "State", header: true }, { data: "Duration", header: true }],
      [name, run.name, state, formatDuration(run)],
    ])
    .addLink(`Flow run ${run.id}`, url);
  if (run.state.message) summary.addRaw(`<p>${escapeHtml(run.state.message)}</p>`, true);
  if (lastLines.length) {
    summary.addDetails(`Last ${lastLines.length} log lines`, `<pre>${escapeHtml(lastLines.map((l) => `${l.level.toUpperCase()} ${l.message}`).join("\n"))}</pre>`);
  }
  await summary.write();
}
