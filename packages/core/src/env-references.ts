import { FerryError } from "./errors.js";

/**
 * A deployment's (or run's) `env` job variable may refer to the workspace's variables and secrets:
 * `{{ var.NAME }}` and `{{ secret.NAME }}`, whole or inside a longer value. The references stay as
 * they are in everything stored and in every job definition sent to a platform; the engine asks for
 * the resolved values at start with its run token (GET /api/flow-runs/{id}/env), so a secret's value
 * never enters a job definition, a container's inspectable environment or a command line.
 */
const REFERENCE = /\{\{\s*(var|secret)\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}/g;

export interface EnvReferences {
  variables: string[];
  secrets: string[];
}

/** The names an env refers to, each once, sorted. Values that are not strings refer to nothing. */
export function envReferences(env: unknown): EnvReferences {
  const variables = new Set<string>();
  const secrets = new Set<string>();
  if (env && typeof env === "object" && !Array.isArray(env)) {
    for (const value of Object.values(env as Record<string, unknown>)) {
      if (typeof value !== "string") continue;
      for (const m of value.matchAll(REFERENCE)) (m[1] === "var" ? variables : secrets).add(m[2]!);
    }
  }
  return { variables: [...variables].sort(), secrets: [...secrets].sort() };
}

/**
 * The entries of `env` that hold references, with the values put in; the others are left out (the
 * engine has them already). A name that does not exist fails with every missing name and the fix.
 */
export function resolveEnvReferences(
  env: unknown,
  values: { variables: ReadonlyMap<string, string>; secrets: ReadonlyMap<string, string> },
): Record<string, string> {
  const refs = envReferences(env);
  const missing = [
    ...refs.variables.filter((n) => !values.variables.has(n)).map((n) => `variable '${n}'`),
    ...refs.secrets.filter((n) => !values.secrets.has(n)).map((n) => `secret '${n}'`),
  ];
  if (missing.length) throw missingReferences(missing);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((env ?? {}) as Record<string, unknown>)) {
    if (typeof value !== "string" || !value.match(REFERENCE)) continue;
    out[key] = value.replace(REFERENCE, (_m, kind: string, name: string) => (kind === "var" ? values.variables : values.secrets).get(name)!);
  }
  return out;
}

export function missingReferences(missing: string[]): FerryError {
  return new FerryError(
    "validation_failed",
    `env refers to ${missing.join(", ")}, which ${missing.length === 1 ? "does" : "do"} not exist in this workspace; set ${missing.length === 1 ? "it" : "them"} with 'ferry variable set NAME VALUE' or 'ferry secret set NAME'`,
    { details: { missing } },
  );
}

/** The run's env as its job variables give it: the deployment's, then the run's own entries over them. */
export function runEnv(deploymentJobVariables: Record<string, unknown>, runJobVariables: Record<string, unknown>): Record<string, unknown> {
  const asObject = (v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  return { ...asObject(deploymentJobVariables.env), ...asObject(runJobVariables.env) };
}
