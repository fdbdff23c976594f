import { access, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import {
  completeDeployments,
  defaultFlowName,
  FerryError,
  hasEmbeddedSecret,
  parseEntrypoint,
  parseProjectFile,
  type DeploymentApply,
  type DeploymentApplyResult,
  type DeploymentDraft,
  type DeploymentSource,
  type ProjectFile,
} from "@ferry/core";
import {
  ApplyError,
  applyDeployments,
  checkDeployments,
  deploymentLabel,
  gitDefaults,
  readerAt,
  readProfiles,
  gitTopLevel,
  selectDeployments,
  withParameterSchemas,
} from "@ferry/client-node";
import type { CommandContext } from "../context.js";
import { sourceLabel } from "../format.js";
import { loadImageBackend, planImage, type ImageBuildPlan } from "../images/image-build.js";
import { pushedReference } from "../images/reference.js";
import { resolveRegistryAuth } from "../images/registry-auth.js";
import { collect, keyValues } from "../key-value.js";
import { uploadWorkingTree } from "./deploy-upload.js";
import { withSpinner } from "../spinner.js";
import { walkThroughDeploy } from "./deploy-wizard.js";
import { handler, type CommandEnv } from "./shared.js";

export interface DeployOptions {
  file?: string;
  all?: boolean;
  name?: string;
  flowName?: string;
  entrypoint?: string;
  pool?: string;
  gitUrl?: string;
  branch?: string;
  commit?: string;
  gitCredentials?: string;
  /** `--upload URL`: the working tree goes to this blob prefix, which becomes the source. */
  upload?: string;
  jobVariable?: string[];
  param?: string[];
  tag?: string[];
  description?: string;
  /** False with --no-build. */
  build?: boolean;
  json?: boolean;
}

const DEFAULT_FILE = "ferry.yaml";

/** Flags that describe one deployment; in file mode the file does that instead. */
const DEFINITION_FLAGS: [keyof DeployOptions, string][] = [
  ["name", "--name"],
  ["flowName", "--flow-name"],
  ["pool", "--pool"],
  ["jobVariable", "--job-variable"],
  ["param", "--param"],
  ["tag", "--tag"],
  ["description", "--description"],
];

export function registerDeploy(program: Command, env: CommandEnv): void {
  program
    .command("deploy")
    .description("create or update deployments from ferry.yaml, or one deployment from flags; alone on a terminal, walks you through one")
    .argument("[names...]", "deployments of the file to apply (name or flow/name); default: the only one")
    .option("--file <path>", "project file", DEFAULT_FILE)
    .option("--all", "apply every deployment in the file")
    .option("--entrypoint <path:function>", "deploy from flags instead of a file: the flow, e.g. flows/etl.py:etl")
    .option("--name <name>", "deployment name (with --entrypoint)")
    .option("--flow-name <name>", "flow name (default: the entrypoint's function, _ as -)")
    .option("--pool <name>", "work pool (with --entrypoint)")
    .option("--git-url <url>", "repository to clone (default: the current repository's origin)")
    .option("--branch <branch>", "branch to run (default: the current branch)")
    .option("--commit <sha>", "commit to pin")
    .option("--git-credentials <name>", "git credentials for a private repository (with --upload: the store's credentials the runs read with)")
    .option("--upload <url>", "not in git: upload the project's files (less .gitignore and .ferryignore) to a blob store prefix (s3://, gs://, https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX) with your own cloud identity, and deploy from there")
    .option("--job-variable <key=value>", "job variable, value as JSON or text (repeatable)", collect)
    .option("--param <key=value>", "default parameter, value as JSON or text (repeatable)", collect)
    .option("--tag <tag>", "tag (repeatable)", collect)
    .option("--description <text>", "description")
    .option("--no-build", "with a build section in ferry.yaml: skip building and pushing; deployments get the image's tag, pushed by an earlier deploy")
    .option("--json", "print the results ({deployment, action} per deployment) as JSON; with a build section, {image, deployments}")
    .addHelpText(
      "after",
      "\nWithout a source, a deployment runs the code of the current repository's 'origin' at the current branch:\n" +
        "push before you run. --git-url, --branch, --commit and --git-credentials fill in what the file leaves out.\n\n" +
        "With a top-level 'build' section, ferry.yaml's deployments run on an image built from the engine image and the\n" +
        "project's requirements (or its own Dockerfile), pushed to build.image or the profile's default_image_namespace;\n" +
        "their 'image' job variable is set to it, by digest. It needs Docker, and python3 with pip for the wheels.\n\n" +
        "Examples:\n  ferry deploy --all\n  ferry deploy nightly\n  ferry deploy --name nightly --entrypoint flows/etl.py:etl --pool my-pool --job-variable pip_packages='[\"pandas\"]'",
    )
    .action(handler(env, deploy));
}

async function deploy(ctx: CommandContext, names: string[], options: DeployOptions): Promise<void> {
  const { out } = ctx;
  if (!names.length && !options.all && !options.entrypoint && !definitionFlags(options).length) names = await chooseOrWalkThrough(ctx, options);
  const project = options.entrypoint ? projectFromFlags(names, options) : await projectFromFile(ctx, names, options);

  let defaults: DeploymentSource | null = null;
  const flagSource = sourceFlags(options);
  if (!project.missing.length && Object.keys(flagSource).length) {
    out.warn("--git-url, --branch, --commit and --git-credentials fill in deployments without a git_url; every selected deployment has one, so they were not used");
  }
  if (options.upload) {
    if (options.gitUrl || options.branch || options.commit) throw new FerryError("validation_failed", "--upload is the source: drop --git-url, --branch and --commit");
    defaults = await uploadWorkingTree({
      client: await ctx.client(),
      url: options.upload,
      root: options.entrypoint ? ctx.io.cwd : dirname(resolve(ctx.io.cwd, options.file ?? DEFAULT_FILE)),
      credentials: options.gitCredentials,
      env: ctx.io.env,
      progress: (line) => out.note(line),
    });
  } else if (project.missing.length) {
    if (flagSource.git_url) defaults = flagSource as DeploymentSource;
    else {
      const git = await withSpinner(ctx, "Reading the git repository", () => gitDefaults(ctx.io.cwd));
      // A branch or commit from the flags replaces what HEAD points at, rather than mixing with it.
      defaults = flagSource.branch || flagSource.commit ? { git_url: git.source.git_url, ...flagSource } : { ...git.source, ...flagSource };
      out.note(`Source: ${sourceLabel(defaults)} (from the git repository in ${ctx.io.cwd})`);
      for (const warning of git.warnings) out.warn(warning);
    }
  }
  const fileName = options.entrypoint ? "command line" : options.file ?? DEFAULT_FILE;
  let deployments = completeDeployments(project, { source: defaults }, { fileName });
  const reader = readerAt((await gitTopLevel(ctx.io.cwd)) ?? ctx.io.cwd);
  const schemas = await withSpinner(ctx, "Reading the flows' parameters", () => withParameterSchemas(deployments, reader));
  deployments = schemas.deployments;
  for (const note of schemas.notes) out.warn(note);

  const client = await ctx.client();
  let plan: ImageBuildPlan | null = null;
  if (project.build) {
    const settings = await ctx.settings();
    const profiles = await readProfiles(settings.profilesPath);
    plan = await planImage({
      build: project.build,
      projectDir: dirname(resolve(ctx.io.cwd, fileName)),
      projectName: project.name,
      namespace: settings.profileName ? profiles.profiles[settings.profileName]?.default_image_namespace : undefined,
      profileName: settings.profileName,
    });
    for (const d of deployments) {
      if (d.job_variables?.image !== undefined) out.warn(`${d.flow_name}/${d.name} sets job_variables.image; the image of the build section replaces it`);
    }
    // The tag stands in for the pushed image, so a pool's template is checked before the build, not after.
    deployments = withImage(deployments, plan.target.reference);
  }
  const checked = deployments;
  await withSpinner(ctx, "Checking the deployments against their pools", () => checkDeployments(client, checked));

  let image: { reference: string; tag: string; digest: string | null; built: boolean } | null = null;
  if (plan) {
    if (options.build === false) {
      out.warn(`--no-build: deployments get ${plan.target.reference}, which an earlier 'ferry deploy' must have pushed`);
      image = { reference: plan.target.reference, tag: plan.target.reference, digest: null, built: false };
    } else {
      const login = await resolveRegistryAuth(plan.target.registry, project.build!.registry_credentials, {
        env: ctx.io.env,
        baseDir: dirname(resolve(ctx.io.cwd, fileName)),
        registryLogin: async (registry) => (await ctx.clientPlugins()).registryLogin(registry),
      });
      plan.auth = login?.auth ?? null;
      plan.authFrom = login?.from ?? null;
      const backend = await (ctx.io.images ?? loadImageBackend)();
      const result = await backend.buildAndPush(plan, (line) => out.note(line));
      const reference = pushedReference(plan.target, result.digest);
      image = { reference, tag: plan.target.reference, digest: result.digest, built: true };
    }
    deployments = withImage(deployments, image.reference);
  }

  const width = Math.max(...deployments.map((d) => d.flow_name.length + d.name.length + 1));
  let results: DeploymentApplyResult[];
  try {
    results = await applyDeployments(client, deployments, (result) => {
      if (options.json) return;
      const c = out.colors;
      const action = { created: c.green, updated: c.yellow, unchanged: c.dim }[result.action](result.action.padEnd(9));
      const label = deploymentLabel(result.deployment).padEnd(width);
      out.line(`${action}  ${label}  ${c.dim(`pool ${result.deployment.work_pool}, ${sourceLabel(result.deployment.source)}`)}`);
    });
  } catch (error) {
    if (error instanceof ApplyError && error.applied.length) {
      out.note(`Applied before the failure: ${error.applied.map((r) => deploymentLabel(r.deployment)).join(", ")}.`);
    }
    throw error;
  }
  if (options.json) return out.json(image ? { image, deployments: results } : results);
  const first = results[0]!.deployment;
  out.note(`Run ${results.length > 1 ? "one" : "it"} with: ferry deployment run ${first.flow_name}/${first.name} --watch`);
}

function withImage(deployments: DeploymentApply[], image: string): DeploymentApply[] {
  return deployments.map((d) => ({ ...d, job_variables: { ...d.job_variables, image } }));
}

function sourceFlags(options: DeployOptions): Partial<DeploymentSource> {
  const out: Partial<DeploymentSource> = {};
  if (options.gitUrl && hasEmbeddedSecret(options.gitUrl)) {
    throw new FerryError(
      "validation_failed",
      "--git-url contains a password or token; store it with 'ferry credentials create NAME --type git' and pass --git-credentials NAME",
    );
  }
  if (options.gitUrl) out.git_url = options.gitUrl;
  if (options.branch) out.branch = options.branch;
  if (options.commit) out.commit = options.commit;
  if (options.gitCredentials) out.credentials = options.gitCredentials;
  return out;
}

function projectFromFlags(names: string[], options: DeployOptions): ProjectFile {
  if (names.length || options.all) {
    throw new FerryError("validation_failed", "with --entrypoint the deployment comes from flags: drop the deployment names and --all, or drop --entrypoint to use ferry.yaml");
  }
  const missing = [!options.name && "--name", !options.pool && "--pool"].filter(Boolean);
  if (missing.length) throw new FerryError("validation_failed", `deploying from flags needs ${missing.join(" and ")} (with --entrypoint)`);
  const entrypoint = options.entrypoint!;
  parseEntrypoint(entrypoint);
  const flowName = options.flowName ?? defaultFlowName(entrypoint);
  const draft: DeploymentDraft = {
    name: options.name!,
    flow_name: flowName,
    entrypoint,
    work_pool: options.pool!,
    source: {},
  };
  if (options.jobVariable?.length) draft.job_variables = keyValues(options.jobVariable, "--job-variable");
  if (options.param?.length) draft.parameters = keyValues(options.param, "--param");
  if (options.tag?.length) draft.tags = options.tag;
  if (options.description !== undefined) draft.description = options.description;
  return { deployments: [draft], missing: [{ index: 0, deployment: `${flowName}/${draft.name}`, field: "source.git_url", path: "--git-url" }] };
}

function definitionFlags(options: DeployOptions): string[] {
  return DEFINITION_FLAGS.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
}

/**
 * `ferry deploy` alone. On a terminal: without a project file, the walk-through writes one; with one, the
 * person picks its deployment(s) or a new one. Without a terminal, a file is deployed as before (its only
 * deployment, or the names it needs), and without a file the error names the flags to pass.
 */
async function chooseOrWalkThrough(ctx: CommandContext, options: DeployOptions): Promise<string[]> {
  const fileName = options.file ?? DEFAULT_FILE;
  const path = resolve(ctx.io.cwd, fileName);
  const text = await readFile(path, "utf8").catch(() => null);
  if (text === null) {
    if (!ctx.io.stdinIsTTY) {
      throw new FerryError(
        "validation_failed",
        `no ${fileName} in ${ctx.io.cwd} and no terminal to ask on: pass --entrypoint path/to/flow.py:function, --name NAME and --pool POOL ` +
          `(or write ${fileName}; on a terminal, 'ferry deploy' walks you through it)`,
      );
    }
    return [await walkThroughDeploy(ctx, fileName)];
  }
  if (!ctx.io.stdinIsTTY) return [];
  const project = parseProjectFile(text, { fileName });
  const NEW = "\0new";
  const ALL = "\0all";
  const choices = project.deployments.map((d) => ({ name: `${d.flow_name}/${d.name}`, value: `${d.flow_name}/${d.name}`, description: `${d.entrypoint} on ${d.work_pool}` }));
  if (choices.length > 1) choices.push({ name: `All ${choices.length} deployments`, value: ALL, description: "" });
  choices.push({ name: "A new deployment (walk through it)", value: NEW, description: `adds it to ${fileName}` });
  const picked = await ctx.io.select(`Deploy what from ${fileName}?`, choices);
  if (picked === NEW) return [await walkThroughDeploy(ctx, fileName)];
  if (picked === ALL) {
    options.all = true;
    return [];
  }
  return [picked];
}

async function projectFromFile(ctx: CommandContext, names: string[], options: DeployOptions): Promise<ProjectFile> {
  const given = definitionFlags(options);
  if (given.length) {
    throw new FerryError(
      "validation_failed",
      `${given.join(", ")} ${given.length === 1 ? "describes" : "describe"} a deployment from flags and ${given.length === 1 ? "needs" : "need"} --entrypoint; to deploy from ${options.file ?? DEFAULT_FILE}, set ${given.length === 1 ? "it" : "them"} there`,
    );
  }
  const fileName = options.file ?? DEFAULT_FILE;
  const path = resolve(ctx.io.cwd, fileName);
  let text: string;
  try {
    await access(path);
    text = await readFile(path, "utf8");
  } catch {
    throw new FerryError(
      "not_found",
      `${fileName} was not found in ${ctx.io.cwd}; write one (see 'ferry deploy --help') or deploy from flags: ferry deploy --name NAME --entrypoint path/to/flow.py:flow --pool POOL`,
    );
  }
  const project = parseProjectFile(text, { fileName });
  const selected = selectDeployments(project, names, Boolean(options.all), fileName);
  const indexes = new Set(selected.map((d) => project.deployments.indexOf(d)));
  return { ...project, deployments: selected, missing: project.missing.filter((m) => indexes.has(m.index)) };
}
