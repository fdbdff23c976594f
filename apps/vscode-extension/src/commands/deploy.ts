import { dirname, join } from "node:path";
import * as vscode from "vscode";
import { completeDeployments, defaultFlowName, FerryError, parseProjectFile, type DeploymentApplyResult, type DeploymentSource } from "@ferry/core";
import {
  ApplyError,
  applyDeployments,
  checkDeployments,
  deploymentLabel,
  discoverFunctions,
  entrypointFor,
  gitDefaults,
  gitTopLevel,
  languageOf,
  readerAt,
  relativeToRoot,
  selectDeployments,
  withParameterSchemas,
} from "@ferry/client-node";
import { Cancelled, logChannel, orCancel } from "../errors.js";
import { deploymentsInFile, upsertDeployment } from "../project-yaml.js";
import type { Ferry } from "../services.js";

const PROJECT_FILE = "ferry.yaml";

/** The first ferry.yaml in `dir` or a folder above it, up to and including `top`, with its text. */
async function nearestProjectFile(dir: string, top: string): Promise<{ uri: vscode.Uri; text: string } | null> {
  let current = dir;
  for (;;) {
    const uri = vscode.Uri.file(join(current, PROJECT_FILE));
    const text = await readText(uri);
    if (text !== null) return { uri, text };
    if (relativeToRoot(top, current) === null) return null; // reached the top (or left it)
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

/** The text of a file as the editor has it (unsaved edits included), or null when it does not exist. */
async function readText(uri: vscode.Uri): Promise<string | null> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch (error) {
    if (error instanceof vscode.FileSystemError && error.code === "FileNotFound") return null;
    throw error;
  }
}

/** Replaces a file's text through the editor (so an open, unsaved ferry.yaml is edited, not clobbered) and saves it. */
async function writeText(uri: vscode.Uri, text: string, exists: boolean): Promise<void> {
  if (!exists) {
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    return;
  }
  const document = await vscode.workspace.openTextDocument(uri);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), text);
  if (!(await vscode.workspace.applyEdit(edit))) throw new FerryError("conflict", `${uri.fsPath} could not be edited; save or close it and try again`);
  await document.save();
}

/**
 * Deploy This Flow: offers the active file's functions the engine can run, then a work pool and a
 * name, writes (or updates) the deployment in ferry.yaml, and deploys it.
 */
export async function deployThisFlow(ferry: Ferry): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const document = editor?.document;
  const language = document && document.uri.scheme === "file" ? languageOf(document.fileName) : null;
  if (!document || !language) {
    throw new FerryError("validation_failed", "open the Python, TypeScript or JavaScript file of a flow, then run 'Ferry: Deploy This Flow' again");
  }
  const functions = discoverFunctions(document.getText(), language);
  if (!functions.length) {
    const what = language === "python" ? "a top-level function (def name(...))" : "an exported function (export function name(...))";
    throw new FerryError("validation_failed", `${vscode.workspace.asRelativePath(document.uri)} has no function Ferry can run: a flow is ${what}`);
  }
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  const root = (await gitTopLevel(dirname(document.fileName))) ?? folder?.uri.fsPath ?? dirname(document.fileName);
  const relative = relativeToRoot(root, document.fileName);
  if (relative === null) throw new FerryError("validation_failed", `${document.fileName} is outside ${root}; open the flow from inside its repository`);

  const ordered = [...functions].sort((a, b) => Number(b.flow) - Number(a.flow));
  const fn = orCancel(
    await vscode.window.showQuickPick(
      ordered.map((f) => ({
        label: f.name,
        description: `${f.flow ? "flow · " : ""}${f.async ? "async · " : ""}line ${f.line + 1}`,
        detail: f.parameters.length ? `(${f.parameters.join(", ")})` : "no parameters",
        fn: f,
      })),
      { title: "Ferry: Deploy This Flow (1/3): the flow function", placeHolder: `Functions of ${relative} the engine can run` },
    ),
  ).fn;
  const entrypoint = entrypointFor(relative, fn.name);

  // The nearest ferry.yaml from the flow's folder up to the repository's top (or the workspace
  // folder's); with none, a new one at the repository's top. Entrypoints stay relative to that top.
  const found = await nearestProjectFile(dirname(document.fileName), root);
  const fileUri = found?.uri ?? vscode.Uri.file(join(root, PROJECT_FILE));
  const existingText = found?.text ?? null;
  const fileName = vscode.workspace.asRelativePath(fileUri);
  const existing = existingText ? deploymentsInFile(existingText, { fileName }).find((d) => d.entrypoint === entrypoint) : undefined;

  const { client } = await ferry.connections.client();
  const pools = await client.listAll.listWorkPools();
  if (!pools.length) {
    const create = "Create Work Pool";
    const picked = await vscode.window.showWarningMessage("Ferry: this workspace has no work pool to deploy to yet.", create);
    if (picked === create) await vscode.commands.executeCommand("ferry.createWorkPool");
    throw new Cancelled();
  }
  const pool = orCancel(
    await vscode.window.showQuickPick(
      pools.map((p) => ({ label: p.name, description: p.type + (p.name === existing?.work_pool ? " · current" : ""), detail: p.description ?? undefined })),
      { title: "Ferry: Deploy This Flow (2/3): the work pool", placeHolder: "Where its runs run" },
    ),
  ).label;
  const flowName = existing?.flow_name ?? defaultFlowName(entrypoint);
  const name = orCancel(
    await vscode.window.showInputBox({
      title: "Ferry: Deploy This Flow (3/3): the deployment's name",
      prompt: `Deployment of flow '${flowName}' (${entrypoint}); runs are started by ${flowName}/NAME`,
      value: existing?.name ?? "default",
      validateInput: (text) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(text.trim()) ? null : "Use letters, digits, '.', '_' and '-'"),
    }),
  ).trim();

  const edit = upsertDeployment(existingText, { name, flow_name: flowName, entrypoint, work_pool: pool }, { fileName });
  if (edit.action !== "unchanged") await writeText(fileUri, edit.text, existingText !== null);
  logChannel().info(`${fileName}: ${edit.action} ${flowName}/${name}`);
  await deployProject(ferry, fileUri, [`${flowName}/${name}`]);
}

/** Deploy From ferry.yaml: picks the file (when there are several) and its deployments, then deploys them. */
export async function deployFromFile(ferry: Ferry, target?: vscode.Uri): Promise<void> {
  let fileUri = target;
  if (!fileUri) {
    const files = await vscode.workspace.findFiles(`**/${PROJECT_FILE}`, "**/node_modules/**", 50);
    if (!files.length) {
      throw new FerryError("not_found", "no ferry.yaml in this workspace; open a flow file and run 'Ferry: Deploy This Flow' to write one");
    }
    fileUri =
      files.length === 1
        ? files[0]!
        : orCancel(
            await vscode.window.showQuickPick(
              files.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
              { title: "Ferry: Deploy From ferry.yaml", placeHolder: "Which project file" },
            ),
          ).uri;
  }
  const text = await readText(fileUri);
  if (text === null) throw new FerryError("not_found", `${fileUri.fsPath} does not exist`);
  const listed = deploymentsInFile(text, { fileName: vscode.workspace.asRelativePath(fileUri) });
  if (!listed.length) throw new FerryError("validation_failed", `${vscode.workspace.asRelativePath(fileUri)} has no deployments; add one under 'deployments:'`);
  let names = listed.map(deploymentLabel);
  if (listed.length > 1) {
    const picked = orCancel(
      await vscode.window.showQuickPick(
        listed.map((d) => ({ label: deploymentLabel(d), description: `${d.entrypoint} → ${d.work_pool}`, picked: true })),
        { title: "Ferry: Deploy From ferry.yaml", placeHolder: "Deployments to create or update", canPickMany: true },
      ),
    );
    if (!picked.length) throw new Cancelled();
    names = picked.map((p) => p.label);
  }
  await deployProject(ferry, fileUri, names);
}

/**
 * Applies deployments of a project file as `ferry deploy` does: the source from the file, else the
 * repository's origin and branch; every deployment checked against its pool before any is applied.
 */
export async function deployProject(ferry: Ferry, fileUri: vscode.Uri, names: string[]): Promise<DeploymentApplyResult[]> {
  const fileName = vscode.workspace.asRelativePath(fileUri);
  const text = await readText(fileUri);
  if (text === null) throw new FerryError("not_found", `${fileName} does not exist`);
  const parsed = parseProjectFile(text, { fileName });
  if (parsed.build) {
    throw new BuildNeedsCli(fileName);
  }
  const selected = selectDeployments(parsed, names, false, fileName);
  const indexes = new Set(selected.map((d) => parsed.deployments.indexOf(d)));
  const project = { ...parsed, deployments: selected, missing: parsed.missing.filter((m) => indexes.has(m.index)) };
  const { client } = await ferry.connections.client();

  const results = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Ferry: deploying ${names.join(", ")}`, cancellable: false },
    async (progress) => {
      let source: DeploymentSource | null = null;
      if (project.missing.length) {
        progress.report({ message: "reading the git repository…" });
        const git = await gitDefaults(dirname(fileUri.fsPath));
        source = git.source;
        for (const warning of git.warnings) {
          logChannel().warn(warning);
          void vscode.window.showWarningMessage(`Ferry: ${warning}`);
        }
      }
      const completed = completeDeployments(project, { source }, { fileName });
      progress.report({ message: "reading the flows' parameters…" });
      const { deployments, notes } = await withParameterSchemas(completed, readerAt((await gitTopLevel(dirname(fileUri.fsPath))) ?? dirname(fileUri.fsPath)));
      for (const note of notes) {
        logChannel().warn(note);
        void vscode.window.showWarningMessage(`Ferry: ${note}`);
      }
      progress.report({ message: "checking against the work pools…" });
      await checkDeployments(client, deployments);
      try {
        return await applyDeployments(client, deployments, (r) => {
          progress.report({ message: `${r.action} ${deploymentLabel(r.deployment)}` });
          logChannel().info(`${r.action} ${deploymentLabel(r.deployment)} (pool ${r.deployment.work_pool}, ${r.deployment.source.git_url})`);
        });
      } catch (error) {
        if (error instanceof ApplyError && error.applied.length) {
          void ferry.explorer.refresh();
          throw new FerryError(error.code, `${error.message} (applied before it: ${error.applied.map((r) => deploymentLabel(r.deployment)).join(", ")})`);
        }
        throw error;
      }
    },
  );
  await ferry.explorer.refresh();
  const summary = results.map((r) => `${deploymentLabel(r.deployment)} ${r.action}`).join(", ");
  const runLabel = results.length === 1 ? "Run" : "Run One";
  void vscode.window.showInformationMessage(`Ferry: deployed ${summary}.`, runLabel).then((picked) => {
    if (picked !== runLabel) return;
    return vscode.commands.executeCommand("ferry.runDeployment", results.length === 1 ? results[0]!.deployment : undefined);
  });
  return results;
}

/** A build section means building and pushing an image, which the CLI does (it needs Docker and a registry login). */
class BuildNeedsCli extends FerryError {
  constructor(fileName: string) {
    super(
      "validation_failed",
      `${fileName} has a 'build' section: building and pushing its image is done by the CLI; run 'ferry deploy' in a terminal (or 'ferry deploy --no-build' to reuse the last image)`,
    );
  }
}
