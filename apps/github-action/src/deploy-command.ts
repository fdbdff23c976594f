import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import * as core from "@actions/core";
import { isFerryError, type Deployment, type DeploymentApply, type FerryClient } from "@ferry/core";
import { applyDeployments, readerAt, withParameterSchemas } from "@ferry/client-node";
import { pinnedDeployments, renamed } from "./deploy.js";
import { ActionInputError, type ActionInputs } from "./inputs.js";
import { guardPullRequest } from "./pr-guard.js";
import { escapeHtml, phase, StepFailedError, type Workflow } from "./workflow.js";

/** `deploy`: applies the file's (selected, maybe renamed) deployments, pinned to the workflow's commit. */
export async function deploy(client: FerryClient, inputs: ActionInputs, workflow: Workflow): Promise<void> {
  if (!/^[0-9a-f]{7,40}$/i.test(workflow.sha)) throw new Error("GITHUB_SHA is not a commit hash; run this action inside a GitHub Actions workflow");
  if (inputs.githubToken) {
    // The job's token expires with the job; stored on the server it would outlive the step and still be kept as a secret.
    core.warning(
      "input 'github-token' is not stored on the Ferry server (it would outlive this job); for a private repository, store git credentials once with 'ferry credentials create NAME --type git' (the token is prompted for) and name them in ferry.yaml's source.credentials",
    );
  }
  const text = await readProjectFile(inputs, workflow);
  // Kept exactly as GitHub names the repository (no `.git`): GitHub and most git hosts serve both.
  const gitUrl = `${workflow.serverUrl}/${workflow.owner}/${workflow.repo}`;
  const selected = await phase("file", async () =>
    renamed(pinnedDeployments(text, inputs.file, { gitUrl, commit: workflow.sha, credentials: null }, inputs.deployments), inputs.name, inputs.file),
  );
  const guarded = await guardAll(client, "deploy", selected, inputs, workflow);
  // The checkout is the pinned commit: each flow's signature gives its deployment's parameter schema.
  const { deployments, notes } = await withParameterSchemas(guarded, readerAt(workflow.workspace));
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

/**
 * `delete`: removes the deployments the same inputs would deploy (so a pull request's closing workflow
 * repeats its `with:` block), or the one `deployment` names. One already gone is not an error.
 */
export async function remove(client: FerryClient, inputs: ActionInputs, workflow: Workflow): Promise<void> {
  let refs: string[];
  if (inputs.deployment) refs = [inputs.deployment];
  else {
    const text = await readProjectFile(inputs, workflow);
    const gitUrl = `${workflow.serverUrl}/${workflow.owner}/${workflow.repo}`;
    const selected = await phase("file", async () =>
      renamed(pinnedDeployments(text, inputs.file, { gitUrl, commit: workflow.sha, credentials: null }, inputs.deployments), inputs.name, inputs.file),
    );
    refs = selected.map((d) => `${d.flow_name}/${d.name}`);
  }
  const found: [string, Deployment | null][] = [];
  for (const ref of refs) found.push([ref, await phase("deployment", () => findDeployment(client, ref))]);
  const refusals = found.flatMap(([ref, d]) => {
    if (!d) return [];
    const decision = guardPullRequest("delete", workflow.pr, ref, d.tags, inputs.allowPrDeploy);
    return decision.allowed ? [] : [decision.refusal];
  });
  if (refusals.length) throw refused(refusals);
  const deleted: string[] = [];
  for (const [ref, d] of found) {
    if (!d) {
      core.info(`Deployment ${ref} does not exist (already deleted)`);
      continue;
    }
    await phase("deployment", () => client.api.deleteDeployment({ params: { id: d.id } }));
    deleted.push(d.id);
    core.info(`Deleted deployment ${d.flow_name}/${d.name} (${d.id})`);
  }
  core.setOutput("deployment-ids", JSON.stringify(deleted));
}

/** Checks every deployment against the pull-request guard before anything is applied; tags a pull request's own. */
async function guardAll(client: FerryClient, action: "deploy", deployments: DeploymentApply[], inputs: ActionInputs, workflow: Workflow): Promise<DeploymentApply[]> {
  const out: DeploymentApply[] = [];
  const refusals: string[] = [];
  for (const d of deployments) {
    const ref = `${d.flow_name}/${d.name}`;
    const existing = await phase("deployments", () => findDeployment(client, ref));
    const decision = guardPullRequest(action, workflow.pr, ref, existing ? existing.tags : null, inputs.allowPrDeploy);
    if (!decision.allowed) refusals.push(decision.refusal);
    else out.push(decision.tag ? { ...d, tags: [...new Set([...(d.tags ?? []), decision.tag])] } : d);
  }
  if (refusals.length) throw refused(refusals);
  return out;
}

function refused(refusals: string[]): StepFailedError {
  for (const r of refusals) core.error(r, { title: "Ferry: deployment protected from pull requests" });
  return new StepFailedError(refusals.join("\n"));
}

async function findDeployment(client: FerryClient, ref: string): Promise<Deployment | null> {
  try {
    return await client.resolveDeployment(ref);
  } catch (error) {
    if (isFerryError(error) && error.code === "not_found") return null;
    throw error;
  }
}

async function readProjectFile(inputs: ActionInputs, workflow: Workflow): Promise<string> {
  const path = isAbsolute(inputs.file) ? inputs.file : resolve(workflow.workspace, inputs.file);
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ActionInputError("file", `'${inputs.file}' could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check out the repository first (actions/checkout) or point 'file' at your ferry.yaml`);
  }
}
