import * as vscode from "vscode";
import { FerryError, validateJobVariables, type Deployment, type FlowRun } from "@ferry/core";
import { deploymentLabel } from "@ferry/client-node";
import { orCancel } from "../errors.js";
import { parameterPrompts, parseJobVariables, parseParameter } from "../parameters.js";
import { runPageUrl } from "../run-format.js";
import type { Ferry } from "../services.js";
import { ago, isActive, stateLabel, type DeploymentNode, type RunNode } from "../tree-model.js";

function isDeployment(value: unknown): value is Deployment {
  return typeof value === "object" && value !== null && "entrypoint" in value && "work_pool" in value && "flow_name" in value;
}

function isFlowRun(value: unknown): value is FlowRun {
  return typeof value === "object" && value !== null && "deployment_id" in value && "state" in value;
}

/** A deployment from a view item, an object passed by another command, or a quick pick. */
async function chooseDeployment(ferry: Ferry, arg: unknown, title: string): Promise<Deployment> {
  if (isDeployment(arg)) return arg;
  if ((arg as DeploymentNode | undefined)?.kind === "deployment") return (arg as DeploymentNode).deployment;
  const { client } = await ferry.connections.client();
  const list = await client.listAll.listDeployments();
  if (!list.length) throw new FerryError("not_found", "this workspace has no deployments yet; open a flow and run 'Ferry: Deploy This Flow'");
  return orCancel(
    await vscode.window.showQuickPick(
      list.map((d) => ({ label: deploymentLabel(d), description: `pool ${d.work_pool}${d.paused ? " · paused" : ""}`, detail: d.description ?? d.entrypoint, d })),
      { title, placeHolder: "Deployment", matchOnDescription: true, matchOnDetail: true },
    ),
  ).d;
}

/** A run from a view item, the status bar, or a quick pick of recent (or, for cancel, active) runs. */
async function chooseRun(ferry: Ferry, arg: unknown, title: string, onlyActive: boolean): Promise<FlowRun> {
  if (isFlowRun(arg)) return arg;
  if ((arg as RunNode | undefined)?.kind === "run") return (arg as RunNode).run;
  const { client } = await ferry.connections.client();
  const query = onlyActive ? { state: "SCHEDULED,PENDING,RUNNING", limit: 50 } : { limit: 50 };
  const runs = (await client.api.listFlowRuns({ query })).items;
  if (!runs.length) throw new FerryError("not_found", onlyActive ? "no run is scheduled, pending or running" : "this workspace has no runs yet; start one with 'Ferry: Run Deployment'");
  const now = new Date();
  return orCancel(
    await vscode.window.showQuickPick(
      runs.map((run) => ({
        label: `${run.flow_name}/${run.deployment_name}`,
        description: `${stateLabel(run.state)} · ${run.name} · ${ago(run.created_at, now)}`,
        run,
      })),
      { title, placeHolder: "Flow run", matchOnDescription: true },
    ),
  ).run;
}

/**
 * Run Deployment: asks for each parameter of the deployment's schema (prefilled with its default),
 * then offers job variable overrides (checked against the pool's job template), creates the run,
 * follows its logs in "Ferry Run Logs" and its state in the status bar.
 */
export async function runDeployment(ferry: Ferry, arg?: unknown): Promise<FlowRun> {
  const deployment = await chooseDeployment(ferry, arg, "Ferry: Run Deployment");
  const label = deploymentLabel(deployment);
  const parameters: Record<string, unknown> = {};
  const prompts = parameterPrompts(deployment.parameter_schema, deployment.parameters);
  for (const [i, prompt] of prompts.entries()) {
    const text = orCancel(
      await vscode.window.showInputBox({
        title: `Ferry: Run ${label}: parameter ${i + 1}/${prompts.length}`,
        prompt: `${prompt.name}${prompt.description ? ` — ${prompt.description}` : ""} (${prompt.kind === "json" ? "JSON" : prompt.kind}${prompt.required ? ", required" : ", empty for the default"})`,
        value: prompt.initial ?? "",
        ignoreFocusOut: true,
        validateInput: (value) => {
          const parsed = parseParameter(prompt, value);
          return parsed.ok ? null : parsed.error;
        },
      }),
    );
    const parsed = parseParameter(prompt, text);
    if (!parsed.ok) throw new FerryError("validation_failed", parsed.error);
    if (!parsed.omitted) parameters[prompt.name] = parsed.value;
  }

  const { client } = await ferry.connections.client();
  const runNow = "Run";
  const override = "Override job variables…";
  const choice = orCancel(
    await vscode.window.showQuickPick(
      [
        { label: runNow, description: `on ${deployment.work_pool}`, detail: jobVariablesSummary(deployment.job_variables) },
        { label: override, description: "memory, image, packages… for this run only", detail: "Checked against the work pool's job template" },
      ],
      { title: `Ferry: Run ${label}`, placeHolder: "Run with the deployment's job variables, or override some" },
    ),
  ).label;
  let jobVariables: Record<string, unknown> | undefined;
  if (choice === override) {
    const pool = await client.api.getWorkPool({ params: { name: deployment.work_pool } });
    const keys = Object.keys((pool.base_job_template.variables as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    const text = orCancel(
      await vscode.window.showInputBox({
        title: `Ferry: Run ${label}: job variables`,
        prompt: `A JSON object of overrides${keys.length ? `; the pool takes ${keys.join(", ")}` : ""}`,
        value: "{}",
        ignoreFocusOut: true,
        validateInput: (value) => {
          const parsed = parseJobVariables(value);
          if (!parsed.ok) return parsed.error;
          try {
            validateJobVariables(pool.base_job_template, { ...deployment.job_variables, ...parsed.value }, "job variables");
            return null;
          } catch (error) {
            return error instanceof Error ? error.message : String(error);
          }
        },
      }),
    );
    const parsed = parseJobVariables(text);
    if (!parsed.ok) throw new FerryError("validation_failed", parsed.error);
    if (Object.keys(parsed.value).length) jobVariables = parsed.value;
  }

  const { flow_run: run } = await client.api.createFlowRun({
    params: { id: deployment.id },
    body: { parameters, ...(jobVariables ? { job_variables: jobVariables } : {}) },
  });
  ferry.tracker.track(run);
  await ferry.logs.show(run);
  await ferry.explorer.refresh();
  return run;
}

function jobVariablesSummary(vars: Record<string, unknown>): string {
  const entries = Object.entries(vars);
  if (!entries.length) return "The pool's defaults";
  const text = entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export async function cancelRun(ferry: Ferry, arg?: unknown): Promise<void> {
  const run = await chooseRun(ferry, arg, "Ferry: Cancel Run", true);
  if (!isActive(run)) {
    void vscode.window.showInformationMessage(`Ferry: ${run.name} has already ended (${stateLabel(run.state)}).`);
    return;
  }
  const yes = "Cancel Run";
  const picked = await vscode.window.showWarningMessage(
    `Cancel ${run.flow_name}/${run.deployment_name} run ${run.name}?`,
    { modal: true, detail: `It is ${stateLabel(run.state)}; its infrastructure is stopped and it ends CANCELLED.` },
    yes,
  );
  if (picked !== yes) return;
  const { client } = await ferry.connections.client();
  const after = await client.api.cancelFlowRun({ params: { id: run.id }, body: { reason: "cancelled from VS Code" } });
  ferry.tracker.track(after);
  await ferry.explorer.refresh();
  void vscode.window.showInformationMessage(`Ferry: ${after.name} is ${stateLabel(after.state)}.`);
}

export async function showRunLogs(ferry: Ferry, arg?: unknown): Promise<void> {
  const run = await chooseRun(ferry, arg, "Ferry: Show Run Logs", false);
  await ferry.logs.show(run, { preserveFocus: false });
}

/** Opens the run's page in the web UI the server serves (the browser asks to sign in, or `ferry ui` signs it in). */
export async function openRunInBrowser(ferry: Ferry, arg?: unknown): Promise<void> {
  const run = await chooseRun(ferry, arg, "Ferry: Open Run in Browser", false);
  const { client } = await ferry.connections.client();
  await vscode.env.openExternal(vscode.Uri.parse(runPageUrl(client.apiUrl, run)));
}
