import { validationError } from "./errors.js";

/** Names users choose for pools, deployments and credentials: lowercase slugs, safe in URLs and cloud resource names. */
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isSlug(value: string): boolean {
  return SLUG.test(value);
}

/** Throws a validation error that shows a corrected suggestion when one can be made. */
export function assertSlug(kind: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw validationError(`${kind} name is required`);
  }
  if (!isSlug(value)) {
    const suggestion = toSlug(value);
    throw validationError(
      `${kind} name '${value}' is not valid: use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit` +
        (suggestion && suggestion !== value ? ` (for example '${suggestion}')` : ""),
    );
  }
  return value;
}

export function toSlug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 63)
    .replace(/-$/, "");
}
