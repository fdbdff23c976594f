import { FerryError, isFerryError, SECRET_MASK, secretFields, type CredentialType } from "@ferry/core";

/**
 * A provider holds a pool's decrypted credentials while it talks to its cloud; nothing it throws or
 * logs may carry them. These helpers find the secret values of a credentials document and take them out
 * of an error (message, details and the whole cause chain) before it leaves the provider.
 */

/** The values of `credentials` that its type marks secret (`x-ferry-secret`); every value when the type is unknown. */
export function secretValues(type: CredentialType | null | undefined, credentials: Record<string, string> | null | undefined): string[] {
  if (!credentials) return [];
  const fields = type ? new Set(secretFields(type)) : null;
  return Object.entries(credentials)
    .filter(([field, value]) => typeof value === "string" && value.length > 0 && (fields === null || fields.has(field)))
    .map(([, value]) => value);
}

/** `text` with every secret replaced by the mask. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret) out = out.split(secret).join(SECRET_MASK);
  }
  return out;
}

const MAX_DEPTH = 8;

/** Whether `value` (an error with its cause chain, details and own fields; or any JSON-like value) contains a secret. */
export function containsSecret(value: unknown, secrets: readonly string[]): boolean {
  const wanted = secrets.filter(Boolean);
  if (wanted.length === 0) return false;
  return texts(value).some((text) => wanted.some((secret) => text.includes(secret)));
}

/** Every text an error or value shows: messages, stacks, details and own fields, through the cause chain. */
export function texts(value: unknown, depth = 0, seen = new Set<unknown>()): string[] {
  if (value === null || value === undefined || depth > MAX_DEPTH) return [];
  if (typeof value === "string") return [value];
  if (typeof value !== "object") return [String(value)];
  if (seen.has(value)) return [];
  seen.add(value);
  const out: string[] = [];
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? "", String(value));
    out.push(...texts((value as { cause?: unknown }).cause, depth + 1, seen));
    if (isFerryError(value)) out.push(...texts(value.details, depth + 1, seen));
  }
  for (const [key, field] of Object.entries(value)) {
    if (key === "cause") continue;
    out.push(key, ...texts(field, depth + 1, seen));
  }
  return out;
}

/**
 * `error` without any secret: the same object when none appears in it; else a copy whose message,
 * details and causes are masked (a FerryError keeps its code and retryability).
 */
export function withoutSecrets<E>(error: E, secrets: readonly string[]): E | FerryError | Error {
  if (!containsSecret(error, secrets)) return error;
  return scrub(error, secrets, 0) as E | FerryError | Error;
}

function scrub(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (depth > MAX_DEPTH) return undefined;
  if (isFerryError(value)) {
    return new FerryError(value.code, redact(value.message, secrets), {
      retryable: value.retryable,
      ...(value.details === undefined ? {} : { details: scrubJson(value.details, secrets) }),
      ...(value.cause === undefined ? {} : { cause: scrub(value.cause, secrets, depth + 1) }),
    });
  }
  if (value instanceof Error) {
    const cause = (value as { cause?: unknown }).cause;
    const copy = new Error(redact(value.message, secrets), cause === undefined ? undefined : { cause: scrub(cause, secrets, depth + 1) });
    copy.name = value.name;
    // A copy keeps the fields classification reads (name, code, HTTP status), masked.
    const code = (value as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") Object.assign(copy, { code: typeof code === "string" ? redact(code, secrets) : code });
    copy.stack = redact(value.stack ?? "", secrets);
    return copy;
  }
  if (typeof value === "string") return redact(value, secrets);
  return scrubJson(value, secrets);
}

function scrubJson(value: unknown, secrets: readonly string[]): unknown {
  if (value === undefined) return undefined;
  let json: string;
  try {
    json = JSON.stringify(value) ?? "null";
  } catch {
    return "[details withheld: they could not be checked for secrets]";
  }
  return JSON.parse(redact(json, secrets.map((s) => JSON.stringify(s).slice(1, -1)))) as unknown;
}
