import { parse as parseYaml } from "yaml";

/** A bad input value; the message names the input (as the workflow spells it) and says what to write. */
export class ActionInputError extends Error {
  readonly code = "invalid_input";
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`input '${input}' ${message}`);
    this.name = "ActionInputError";
  }
}

export type ActionCommand = "deploy" | "run" | "delete";

/** The action's inputs, checked and typed once at the edge; the rest of the code sees only this. */
export interface ActionInputs {
  apiUrl: string;
  /** Null: sign in by OIDC (the job's ID token exchanged for a short-lived access token). */
  apiKey: string | null;
  /** The workspace an OIDC token signs in to (its id); needed without an API key. */
  workspace: string | null;
  /** The audience the job's ID token is asked for: what the workspace's trust policy expects. */
  oidcAudience: string;
  command: ActionCommand;
  /** The project file, relative to the workspace unless absolute. */
  file: string;
  /** Names to deploy (`NAME` or `FLOW/NAME`); empty = every deployment of the file. */
  deployments: string[];
  /** For `run`: `FLOW/NAME` or an id. */
  deployment: string | null;
  parameters: Record<string, unknown>;
  jobVariables: Record<string, unknown>;
  wait: boolean;
  /** Seconds; null = no limit. */
  timeoutSeconds: number | null;
  githubToken: string | null;
  /** `deploy`/`delete` on a pull_request event may replace or remove a deployment the pull request did not make. */
  allowPrDeploy: boolean;
  /** `deploy`/`delete`: the one selected deployment's name on the server (e.g. a per-PR name); null = the file's. */
  name: string | null;
  /** `run`: the job's matrix values (`toJSON(matrix)`), part of the idempotency key; {} outside a matrix. */
  matrix: Record<string, unknown>;
  /** `run`: a re-run of the workflow (a new attempt) starts a new run instead of getting the attempt's run back. */
  newRunPerAttempt: boolean;
}

/** The audience the job's ID token is asked for unless `oidc-audience` says another; trust policies expect it by default too. */
export const DEFAULT_OIDC_AUDIENCE = "ferry";

/** Reads one input as the runner passes it (empty string when unset). */
export type InputReader = (name: string) => string;

export function parseInputs(read: InputReader): ActionInputs {
  const get = (name: string) => read(name).trim();

  const apiUrl = get("api-url").replace(/\/+$/, "");
  if (!apiUrl) throw new ActionInputError("api-url", "is required: the URL of your Ferry server, e.g. https://ferry.example.com");
  if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) throw new ActionInputError("api-url", `must be an http(s) URL, not '${apiUrl}'`);

  // Without a key the job signs in by OIDC (sign-in.ts says what is missing when it cannot).
  const apiKey = get("api-key") || null;
  const workspace = get("workspace") || null;
  if (workspace && !/^[0-9a-f-]{36}$/i.test(workspace)) {
    throw new ActionInputError("workspace", `'${workspace}' must be the workspace's id (a UUID): 'ferry oidc-trust ls' prints it`);
  }

  const command = get("command");
  if (command !== "deploy" && command !== "run" && command !== "delete") {
    throw new ActionInputError("command", command ? `must be 'deploy', 'run' or 'delete', not '${command}'` : "is required: 'deploy', 'run' or 'delete'");
  }

  const deployment = get("deployment") || null;
  if (command === "run") {
    if (!deployment) throw new ActionInputError("deployment", "is required with command 'run': FLOW_NAME/DEPLOYMENT_NAME or a deployment id");
    if (!deployment.includes("/") && !/^[0-9a-f-]{36}$/i.test(deployment)) {
      throw new ActionInputError("deployment", `'${deployment}' must be FLOW_NAME/DEPLOYMENT_NAME or a deployment id`);
    }
  }

  const name = get("name") || null;
  if (name && command === "run") throw new ActionInputError("name", "is for 'deploy' and 'delete' (the deployment's name on the server); with 'run', give 'deployment: FLOW_NAME/DEPLOYMENT_NAME'");
  if (name && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new ActionInputError("name", `'${name}' must be letters, digits, '.', '_' or '-' (at most 100), e.g. etl-pr-\${{ github.event.number }}`);
  }

  const timeout = get("timeout");
  let timeoutSeconds: number | null = null;
  if (timeout) {
    const n = Number(timeout);
    if (!Number.isFinite(n) || n <= 0) throw new ActionInputError("timeout", `must be a positive number of seconds, not '${timeout}'`);
    timeoutSeconds = n;
  }

  return {
    apiUrl,
    apiKey,
    workspace,
    oidcAudience: get("oidc-audience") || DEFAULT_OIDC_AUDIENCE,
    command,
    file: get("file") || "ferry.yaml",
    deployments: splitList(read("deployments")),
    deployment,
    parameters: parseObject("parameters", read("parameters")),
    jobVariables: parseObject("job-variables", read("job-variables")),
    wait: parseBoolean("wait", get("wait"), true),
    timeoutSeconds,
    githubToken: get("github-token") || null,
    allowPrDeploy: parseBoolean("allow-pr-deploy", get("allow-pr-deploy"), false),
    name,
    matrix: parseMatrix(get("matrix")),
    newRunPerAttempt: parseBoolean("new-run-per-attempt", get("new-run-per-attempt"), false),
  };
}

/** Names separated by commas or newlines, blanks dropped. */
export function splitList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A JSON or YAML mapping (JSON is YAML); empty = `{}`. */
export function parseObject(input: string, text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ActionInputError(input, `is not valid JSON or YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ActionInputError(input, `must be a mapping of names to values (JSON object or YAML), e.g. '{"day": "2026-01-01"}'`);
  }
  return value as Record<string, unknown>;
}

/**
 * `toJSON(matrix)` as the runner renders the input's default: `null` (or nothing) outside a matrix. An
 * unrendered expression (a runner that does not evaluate defaults, e.g. a local one) counts as no matrix.
 */
export function parseMatrix(text: string): Record<string, unknown> {
  if (!text || text === "null" || text.startsWith("${{")) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ActionInputError("matrix", "must be the job's matrix as JSON; leave it unset (it defaults to ${{ toJSON(matrix) }})");
  }
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ActionInputError("matrix", "must be a JSON object; leave it unset (it defaults to ${{ toJSON(matrix) }})");
  return value as Record<string, unknown>;
}

// The YAML 1.2 core schema's booleans, as @actions/core's getBooleanInput accepts them.
function parseBoolean(input: string, text: string, fallback: boolean): boolean {
  if (!text) return fallback;
  if (["true", "True", "TRUE"].includes(text)) return true;
  if (["false", "False", "FALSE"].includes(text)) return false;
  throw new ActionInputError(input, `must be true or false, not '${text}'`);
}
