import { FerryError } from "@ferry/core";

/**
 * `--param day=2026-01-01`, `--job-variable pip_packages='["pandas"]'`: the value is read as JSON when
 * it is valid JSON (numbers, booleans, null, lists, objects, quoted strings) and kept as text otherwise.
 * Quote a JSON-looking value to keep it text: `--param code='"007"'`.
 */
export function parseKeyValue(text: string, flag: string): [string, unknown] {
  const eq = text.indexOf("=");
  const key = eq < 0 ? "" : text.slice(0, eq).trim();
  if (eq < 0 || key === "" || /\s/.test(key)) {
    throw new FerryError("validation_failed", `${flag} '${text}' must be KEY=VALUE, e.g. ${flag} day=2026-01-01`);
  }
  return [key, parseValue(text.slice(eq + 1))];
}

export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** Builds an object from repeated `KEY=VALUE` flags; a key given twice keeps its last value. */
export function keyValues(list: readonly string[] | undefined, flag: string, parse: (raw: string) => unknown = parseValue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const text of list ?? []) {
    const [key] = parseKeyValue(text, flag);
    out[key] = parse(text.slice(text.indexOf("=") + 1));
  }
  return out;
}

/** Commander accumulator for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
