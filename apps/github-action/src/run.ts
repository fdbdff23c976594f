import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import * as core from "@actions/core";
import * as github from "@actions/github";
import { FerryClient, flowRunUiUrl, isFerryError, type FlowRun, type LogLine } from "@ferry/core";
import { applyDeployments, readerAt, withParameterSchemas } from "@ferry/client-node";
import { credentialsName, pinnedDeployments } from "./deploy.js";
import { createOctokit, report, type ReportTarget } from "./github-report.js";
import { ActionInputError, parseInputs, type ActionInputs } from "./inputs.js";
import { formatDuration, watchRun } from "./watch-run.js";

/** What the action needs from the workflow run, read once from the GitHub context. */
interface Workflow {
  owner: string;
  repo: string;
  sha: string;
  serverUrl: string;
  apiUrl: string;
  runId: number;
  runAttempt: number;
  workspace: string;
  pullRequest: number | null;
  hasSummary: boolean;
}

/** A step failure that has already been explained (annotation, summary); only its message is left to report. */
class StepFailedError extends Error {
  readonly code = "step_failed";
}

/** Runs the action: every failure ends in the one `core.setFailed` below, with the input to fix named. */
export async function run(): Promise<void> {
  // Masked before anything can print them, even when another input turns out to be wrong.
  for (const secret of [core.getInput("api-key"), core.getInput("github-token")]) if (secret.trim()) core.setSecret(secret.trim());
  try {
    const inputs = parseInputs((name) => core.getInput(name));
    const workflow = readWorkflow();
    const client = new FerryClient({ apiUrl: inputs.apiUrl, apiKey: inputs.apiKey, userAgent: "ferry-github-action" });
    if (inputs.command === "deploy") await deploy(client, inputs, workflow);
    else await runDeployment(client, inputs, workflow);
  } catch (error) {
    core.setFailed(failureMessage(error));
  }
}

function readWorkflow(): Workflow {
  const ctx = github.context;
  const repository = process.env.GITHUB_REPOSITORY ?? "";
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new Error("GITHUB_REPOSITORY is not set to OWNER/REPO; run this action inside a GitHub Actions workflow");
  }
  const [owner, repo] = repository.split("/") as [string, string];
  const pr = ctx.payload.pull_request?.number;
  return {
    owner,
    repo,
    sha: ctx.sha ?? "",
    serverUrl: (ctx.serverUrl || "https://github.com").replace(/\/+$/, ""),
    apiUrl: ctx.apiUrl || "https://api.github.com",
    runId: ctx.runId,
    runAttempt: Number.isFinite(ctx.runAttempt) ? ctx.runAttempt : 1,
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    pullRequest: typeof pr === "number" ? pr : null,
    hasSummary: Boolean(process.env.GITHUB_STEP_SUMMARY),
  };
}

async function deploy(client: FerryClient, inputs: ActionInputs, workflow: Workflow): Promise<void> {
  if (!/^[0-9a-f]{7,40}$/i.test(workflow.sha)) throw new Error("GITHUB_SHA is not a commit hash; run this action inside a GitHub Actions workflow");
  const path = isAbsolute(inputs.file) ? inputs.file : resolve(workflow.workspace, inputs.file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ActionInputError("file", `'${inputs.file}' could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check out the repository first (actions/checkout) or point 'file' at your ferry.yaml`);
  }
  let credentials: string | null = null;
  if (inputs.githubToken) {
    credentials = credentialsName(workflow.owner, workflow.repo);
    await phase("github-token", () =>
      client.api.createCredentials({
        body: { name: credentials!, type: "git", data: { token: inputs.githubToken, username: "x-access-token" }, overwrite: true },
      }),
    );
    core.info(`Stored github-token as git credentials '${credentials}'`);
  }
  // Kept exactly as GitHub names the repository (no `.git`): GitHub and most git hosts serve both.
  const gitUrl = `${workflow.serverUrl}/${workflow.owner}/${workflow.repo}`;
  const pinned = await phase("file", async () => pinnedDeployments(text, inputs.file, { gitUrl, commit: workflow.sha, credentials }, inputs.deployments));
  // The checkout is the pinned commit: each flow's signature gives its deployment's parameter schema.
  const { deployments, notes } = await withParameterSchemas(pinned, readerAt(workflow.workspace));
  for (const note of notes) core.warning(note);

  core.startGroup(`Deploying ${deployments.length} deployment(s) from ${inputs.file} at ${workflow.sha.slice(0, 7)}`);
  let results;
  try {
    results = await phase("file", () => applyDeployments(client, deployments));
    for (const r of results) core.info(`${r.action.padEnd(9)} ${r.deployment.flow_name}/${r.deployment.name} (${r.deployment.id})`);
  } finally {
    core.endGroup();
  }
  core.setOutput("deployment-ids", JSON.stringify(results.map((r) => r.deployment.id)));
  if (workflow.hasSummary) {
    await core.summary
      .addHeading("Ferry deploy", 3)
      .addRaw(`Source: <code>${escapeHtml(gitUrl)}</code> at <code>${workflow.sha.slice(0, 7)}</code>`, true)
      .addTable([
        [{ data: "Deployment", header: true }, { data: "Pool", header: true }, { data: "Result", header: true }, { data: "Id", header: true }],
        ...results.map((r) => [`${r.deployment.flow_name}/${r.deployment.name}`, r.deployment.work_pool, r.action, r.deployment.id]),
      ])
      .write();
  }
}

async function runDeployment(client: FerryClient, inputs: ActionInputs, workflow: Workflow): Promise<void> {
  const ref = inputs.deployment!;
  const deployment = await phase("deployment", () => client.resolveDeployment(ref));
  const name = `${deployment.flow_name}/${deployment.name}`;
  // The same job attempt asking twice (a retried step) gets the same run back instead of a second one.
  const idempotencyKey = `gh-${workflow.runId}-${workflow.runAttempt}-${ref}`.slice(0, 200);
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
    core.startGroup(`Logs of flow run ${created.name}`);
    // The flow's output must not be read as workflow commands (::set-output, ::add-mask…).
    const stop = randomUUID();
    core.info(`::stop-commands::${stop}`);
    try {
      ({ run: final, timedOut, lastLines } = await watchRun(client, created.id, {
        timeoutSeconds: inputs.timeoutSeconds,
        onLog: (l) => core.info(`${l.timestamp.slice(11, 19)} ${l.level.toUpperCase().padEnd(7)} ${l.message}`),
      }));
    } finally {
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
    const target: ReportTarget = workflow.pullRequest
      ? { kind: "pull-request", owner: workflow.owner, repo: workflow.repo, number: workflow.pullRequest }
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

/** Runs one phase; a Ferry error from it is pinned on the input to fix (the key and URL are checked first). */
async function phase<T>(input: string, fn: () => Promise<T>): Promise<T> {
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

function failureMessage(error: unknown): string {
  if (error instanceof ActionInputError || error instanceof StepFailedError) return error.message;
  if (isFerryError(error)) return `Ferry: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
