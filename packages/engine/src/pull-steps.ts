import { EngineError } from "./errors.js";
import { redactUrl } from "./masking.js";

/** A pull step, understood and checked: what the engine does before it runs the flow. */
export type PullStep =
  | { kind: "git_clone"; repository: string; branch: string | null; commit: string | null }
  | { kind: "pip_install_requirements"; requirementsFile: string; directory: string | null }
  | { kind: "npm_install"; directory: string | null }
  | { kind: "set_working_directory"; directory: string }
  | { kind: "run_shell_script"; script: string; directory: string | null };

export type PullStepKind = PullStep["kind"];

/** Where the deployment's code lives: the defaults of `git_clone`. */
export interface SourceDefaults {
  git_url: string;
  branch: string | null;
  commit: string | null;
}

const OPTIONS: Record<PullStepKind, readonly string[]> = {
  git_clone: ["repository", "branch", "commit"],
  pip_install_requirements: ["requirements_file", "directory"],
  npm_install: ["directory"],
  set_working_directory: ["directory"],
  run_shell_script: ["script", "directory"],
};
const KINDS = Object.keys(OPTIONS) as PullStepKind[];
/** Prefect step options that change nothing here, accepted so a copied `pull:` section works. */
const IGNORED_OPTIONS = ["id", "stream_output"];
const OPTION_HINTS: Record<string, string> = {
  access_token: "is not supported: the token comes from the credentials named in the deployment's source",
  credentials: "is not supported: name the credentials in the deployment's source (source.credentials)",
  include_submodules: "is not supported yet",
  directories: "is not supported yet: the whole repository is cloned",
  env: "is not supported: set environment variables with the job variable 'env'",
  expand_env_vars: "is not supported: the shell expands variables in the script itself",
};
const COMMIT = /^[0-9a-fA-F]{7,40}$/;

/**
 * Turns the deployment's `pull_steps` (Prefect's `pull:` style: a list of one-key objects) into what the
 * engine does. With no steps, the source is cloned; steps that clone nothing get the source's clone
 * first, so `- pip_install_requirements: {}` alone works. Every problem is reported at once.
 */
export function planPullSteps(steps: readonly unknown[] | null | undefined, source: SourceDefaults | null): PullStep[] {
  // A blob source (null here) is downloaded before the steps: there is nothing to clone by default.
  const defaults: PullStep[] = source ? [{ kind: "git_clone", repository: source.git_url, branch: source.branch, commit: source.commit }] : [];
  if (!steps || steps.length === 0) return defaults;
  const problems: string[] = [];
  const plan: PullStep[] = [];
  steps.forEach((raw, index) => {
    const where = `pull step ${index + 1}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw) || Object.keys(raw).length !== 1) {
      problems.push(`${where} must be a mapping with one key naming the step, e.g. '- git_clone: {…}'`);
      return;
    }
    const [name, rawOptions] = Object.entries(raw)[0]!;
    if (!(KINDS as string[]).includes(name)) {
      problems.push(`${where} '${name}' is not a known step (known: ${KINDS.join(", ")})`);
      return;
    }
    const kind = name as PullStepKind;
    const label = `${where} (${kind})`;
    if (rawOptions !== null && rawOptions !== undefined && (typeof rawOptions !== "object" || Array.isArray(rawOptions))) {
      problems.push(`${label} must have a mapping of options`);
      return;
    }
    const options = (rawOptions ?? {}) as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(options)) {
      if (OPTIONS[kind].includes(key) || IGNORED_OPTIONS.includes(key)) continue;
      problems.push(`${label}: '${key}' ${OPTION_HINTS[key] ?? `is not a known option (known: ${OPTIONS[kind].join(", ")})`}`);
    }
    const text = (key: string, required: boolean): string | null => {
      const value = options[key];
      if (value === undefined || value === null || value === "") {
        if (required) problems.push(`${label}: '${key}' is required`);
        return null;
      }
      if (typeof value !== "string") {
        problems.push(`${label}: '${key}' must be a string`);
        return null;
      }
      return value;
    };
    switch (kind) {
      case "git_clone": {
        const repository = text("repository", false);
        const branch = text("branch", false);
        // YAML reads an all-digit hash as a number.
        const rawCommit = typeof options.commit === "number" ? String(options.commit) : options.commit;
        let commit: string | null = null;
        if (rawCommit !== undefined && rawCommit !== null && rawCommit !== "") {
          if (typeof rawCommit !== "string" || !COMMIT.test(rawCommit)) {
            problems.push(`${label}: 'commit' must be a commit hash of 7 to 40 hexadecimal characters`);
          } else commit = rawCommit;
        }
        if (problems.length > before) return;
        if (!source) {
          if (repository === null) problems.push(`${label}: 'repository' is required: the deployment's source is a blob store, not a git repository`);
          else plan.push({ kind, repository, branch, commit });
          return;
        }
        const sameRepository = repository === null || repository === source.git_url;
        plan.push({
          kind,
          repository: repository ?? source.git_url,
          // Another repository does not inherit the source's branch or commit.
          branch: branch ?? (sameRepository && commit === null ? source.branch : null),
          commit: commit ?? (sameRepository && branch === null ? source.commit : null),
        });
        return;
      }
      case "pip_install_requirements": {
        const requirementsFile = text("requirements_file", false) ?? "requirements.txt";
        const directory = text("directory", false);
        if (problems.length === before) plan.push({ kind, requirementsFile, directory });
        return;
      }
      case "npm_install": {
        const directory = text("directory", false);
        if (problems.length === before) plan.push({ kind, directory });
        return;
      }
      case "set_working_directory": {
        const directory = text("directory", true);
        if (problems.length === before && directory !== null) plan.push({ kind, directory });
        return;
      }
      case "run_shell_script": {
        const script = text("script", true);
        const directory = text("directory", false);
        if (problems.length === before && script !== null) plan.push({ kind, script, directory });
        return;
      }
    }
  });
  if (problems.length) {
    throw new EngineError("invalid_pull_step", `the deployment's pull steps are invalid: ${problems.join("; ")}`);
  }
  return plan.some((s) => s.kind === "git_clone") ? plan : [...defaults, ...plan];
}

/** `pip_install_requirements (requirements.txt)`: how a step is named in the run's logs. */
export function describeStep(step: PullStep): string {
  switch (step.kind) {
    case "git_clone":
      return `git_clone (${redactUrl(step.repository)}${step.commit ? ` at ${step.commit}` : step.branch ? `, branch ${step.branch}` : ""})`;
    case "pip_install_requirements":
      return `pip_install_requirements (${step.directory ? `${step.directory}/` : ""}${step.requirementsFile})`;
    case "npm_install":
      return `npm_install (${step.directory ?? "."})`;
    case "set_working_directory":
      return `set_working_directory (${step.directory})`;
    case "run_shell_script":
      return `run_shell_script (${firstLine(step.script)})`;
  }
}

function firstLine(script: string): string {
  const line = script.trim().split("\n")[0] ?? "";
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
