/**
 * Asking for a run's parameters from its deployment's parameter schema (JSON Schema, as ferry.yaml or
 * the flow's signature gives it). Each property becomes one input whose text is parsed by the
 * property's type; what the schema cannot say (objects, arrays, no type) is read as JSON.
 */
export type ParameterKind = "string" | "integer" | "number" | "boolean" | "json";

export interface ParameterPrompt {
  name: string;
  kind: ParameterKind;
  required: boolean;
  description: string | null;
  enum: unknown[] | null;
  /** The deployment's default, or the schema's, as the input's starting text; null when there is none. */
  initial: string | null;
}

type Schema = Record<string, unknown>;

function kindOf(schema: Schema): ParameterKind {
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== "null");
  if (type === "string" || type === "integer" || type === "number" || type === "boolean") return type;
  return "json";
}

function asText(value: unknown, kind: ParameterKind): string {
  if (kind === "string" && typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The inputs to ask for, in the schema's order; with no schema, one per default parameter (as JSON). */
export function parameterPrompts(schema: Schema | null, defaults: Record<string, unknown>): ParameterPrompt[] {
  const properties = schema && typeof schema.properties === "object" && schema.properties ? (schema.properties as Record<string, Schema>) : null;
  if (!properties) {
    return Object.entries(defaults).map(([name, value]) => ({
      name,
      kind: typeof value === "string" ? "string" : "json",
      required: false,
      description: null,
      enum: null,
      initial: asText(value, typeof value === "string" ? "string" : "json"),
    }));
  }
  const required = new Set(Array.isArray(schema!.required) ? (schema!.required as string[]) : []);
  return Object.entries(properties).map(([name, property]) => {
    const kind = kindOf(property);
    const given = name in defaults ? defaults[name] : property.default;
    return {
      name,
      kind,
      required: required.has(name) && given === undefined,
      description: typeof property.description === "string" ? property.description : typeof property.title === "string" ? property.title : null,
      enum: Array.isArray(property.enum) ? property.enum : null,
      initial: given === undefined ? null : asText(given, kind),
    };
  });
}

export type Parsed = { ok: true; value: unknown; omitted: boolean } | { ok: false; error: string };

/**
 * Reads what the user typed for one parameter. Empty text leaves an optional parameter out (the
 * deployment's default applies) and is an error for a required one.
 */
export function parseParameter(prompt: ParameterPrompt, text: string): Parsed {
  const trimmed = text.trim();
  if (trimmed === "") {
    if (prompt.required) return { ok: false, error: `${prompt.name} is required` };
    return { ok: true, value: undefined, omitted: true };
  }
  let value: unknown;
  switch (prompt.kind) {
    case "string":
      value = text;
      break;
    case "integer":
    case "number": {
      const n = Number(trimmed);
      if (!Number.isFinite(n)) return { ok: false, error: `${prompt.name} must be a number, e.g. 3` };
      if (prompt.kind === "integer" && !Number.isInteger(n)) return { ok: false, error: `${prompt.name} must be a whole number, e.g. 3` };
      value = n;
      break;
    }
    case "boolean":
      if (!/^(true|false)$/i.test(trimmed)) return { ok: false, error: `${prompt.name} must be true or false` };
      value = trimmed.toLowerCase() === "true";
      break;
    case "json":
      try {
        value = JSON.parse(trimmed);
      } catch {
        return { ok: false, error: `${prompt.name} must be JSON, e.g. ["a", "b"] or {"key": 1}` };
      }
      break;
  }
  if (prompt.enum && !prompt.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    return { ok: false, error: `${prompt.name} must be one of ${prompt.enum.map((o) => JSON.stringify(o)).join(", ")}` };
  }
  return { ok: true, value, omitted: false };
}

/**
 * Job variable overrides typed as one JSON object, e.g. `{"memory": 1024}`; empty text means none.
 * What the keys may be is the pool's job template's business: the caller checks them against it.
 */
export function parseJobVariables(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return { ok: false, error: `not valid JSON (${(error as Error).message}); write an object, e.g. {"memory": 1024}` };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { ok: false, error: 'job variables must be a JSON object, e.g. {"memory": 1024}' };
  return { ok: true, value: value as Record<string, unknown> };
}
