import { validationError, type ValidationIssue } from "./errors.js";
import { compileSchema, issuesFromAjv, type JsonSchema } from "./json-schema.js";

/**
 * A work pool's base job template: a JSON Schema of the variables a deployment or run may set (with
 * defaults), and a job configuration that refers to them as `{{ name }}`. A provider receives the
 * rendered configuration; it never sees the variables' schema.
 */
export interface BaseJobTemplate {
  variables: JsonSchema & { type: "object"; properties: Record<string, JsonSchema>; required?: string[] };
  job_configuration: Record<string, unknown>;
}

export type JobVariables = Record<string, unknown>;

export interface JobTemplateOptions {
  /**
   * Changes whenever the template does (the store keeps a hash of it with the pool): the compiled
   * variables schema is then found by this key instead of by the schema's JSON.
   */
  cacheKey?: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

/** Checks a template's shape, that its variables schema compiles, and that every placeholder names a variable. */
export function validateBaseJobTemplate(template: unknown): BaseJobTemplate {
  const issues: ValidationIssue[] = [];
  if (typeof template !== "object" || template === null || Array.isArray(template)) {
    throw validationError("base_job_template must be an object with 'variables' and 'job_configuration'");
  }
  const t = template as Partial<BaseJobTemplate>;
  const vars = t.variables;
  if (typeof vars !== "object" || vars === null || vars.type !== "object" || typeof vars.properties !== "object") {
    issues.push({ path: "/variables", message: "must be a JSON Schema of type 'object' with 'properties'" });
  }
  if (typeof t.job_configuration !== "object" || t.job_configuration === null || Array.isArray(t.job_configuration)) {
    issues.push({ path: "/job_configuration", message: "must be an object" });
  }
  if (issues.length) throw validationError("invalid base_job_template", issues);
  compileSchema(closedSchema(vars as JsonSchema), "base_job_template.variables");
  const known = new Set(Object.keys((vars as BaseJobTemplate["variables"]).properties));
  for (const name of known) {
    if (name in Object.prototype) {
      issues.push({ path: `/variables/properties/${name}`, message: `'${name}' is a name every JavaScript object already has; rename the variable` });
    }
  }
  for (const name of placeholders(t.job_configuration)) {
    if (!known.has(name)) {
      issues.push({ path: "/job_configuration", message: `refers to '{{ ${name} }}', which is not a declared variable` });
    }
  }
  if (issues.length) throw validationError("invalid base_job_template", issues);
  return t as BaseJobTemplate;
}

/** Variable names referred to anywhere in a job configuration. */
export function placeholders(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === "string") {
    for (const m of value.matchAll(PLACEHOLDER)) found.add(m[1]!);
  } else if (Array.isArray(value)) {
    for (const v of value) placeholders(v, found);
  } else if (value && typeof value === "object") {
    for (const v of Object.values(value)) placeholders(v, found);
  }
  return found;
}

/** The variables' schema without 'required': a partial set of variables (a run's overrides) passes. */
function partialVariablesValidator(template: BaseJobTemplate, cacheKey: string | undefined) {
  const { required: _required, ...rest } = template.variables;
  return compileSchema(closedSchema(rest), "base_job_template.variables", cacheKey === undefined ? undefined : `${cacheKey}#partial`);
}

/** Unknown keys are always an error, whatever the template's author wrote: a typo must not be silently ignored. */
function closedSchema(schema: JsonSchema): JsonSchema {
  return { ...schema, additionalProperties: false };
}

/**
 * Validates job variables (a deployment's, or a run's overrides) against the template: unknown keys and
 * wrong types are errors. Returns the values without defaults, as given.
 */
export function validateJobVariables(
  template: BaseJobTemplate,
  values: unknown,
  what = "job variables",
  options: JobTemplateOptions = {},
): JobVariables {
  if (values === undefined || values === null) return {};
  if (typeof values !== "object" || Array.isArray(values)) {
    throw validationError(`${what} must be an object of name: value`);
  }
  // Required variables are checked at render.
  const fn = partialVariablesValidator(template, options.cacheKey);
  const copy = structuredClone(values) as JobVariables;
  if (!fn(copy)) {
    const known = Object.keys(template.variables.properties).sort();
    throw validationError(`${what} are invalid (known variables: ${known.join(", ") || "none"})`, issuesFromAjv(fn.errors));
  }
  return structuredClone(values) as JobVariables;
}

/** Merges the layers (pool defaults < deployment < run), fills defaults and checks required variables. */
export function resolveJobVariables(template: BaseJobTemplate, ...layers: (JobVariables | null | undefined)[]): JobVariables {
  return resolveJobVariablesWith(template, layers);
}

/** `resolveJobVariables` with options. */
export function resolveJobVariablesWith(
  template: BaseJobTemplate,
  layers: readonly (JobVariables | null | undefined)[],
  options: JobTemplateOptions = {},
): JobVariables {
  const merged: JobVariables = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (v !== undefined) merged[k] = structuredClone(v);
    }
  }
  const key = options.cacheKey === undefined ? undefined : `${options.cacheKey}#full`;
  const fn = compileSchema(closedSchema(template.variables), "base_job_template.variables", key);
  if (!fn(merged)) {
    throw validationError("job variables are incomplete or invalid", issuesFromAjv(fn.errors));
  }
  return merged;
}

/**
 * Renders the job configuration: a string that is exactly `{{ name }}` takes the variable's value with
 * its type (an object stays an object); placeholders inside longer strings are interpolated as text.
 * A key whose value is exactly a placeholder for an unset variable is left out.
 */
export function renderJobConfiguration(template: BaseJobTemplate, variables: JobVariables): Record<string, unknown> {
  return render(template.job_configuration, variables) as Record<string, unknown>;
}

const UNSET = Symbol("unset");

function render(value: unknown, variables: JobVariables): unknown {
  if (typeof value === "string") {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) {
      const v = variables[whole[1]!];
      return v === undefined ? UNSET : structuredClone(v);
    }
    return value.replace(PLACEHOLDER, (_m, name: string) => {
      const v = variables[name];
      if (v === undefined || v === null) return "";
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) {
    return value.map((v) => render(v, variables)).filter((v) => v !== UNSET);
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = render(v, variables);
      if (r !== UNSET) out[k] = r;
    }
    return out;
  }
  return value;
}

/** Every job variable's default, as the template declares them. */
export function templateDefaults(template: BaseJobTemplate): JobVariables {
  const out: JobVariables = {};
  for (const [k, s] of Object.entries(template.variables.properties)) {
    if (s && typeof s === "object" && "default" in s) out[k] = structuredClone(s.default);
  }
  return out;
}
