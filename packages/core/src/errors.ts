/**
 * Every failure Ferry reports has a stable `code` (what scripts and the client switch on), a message
 * that says what to fix, and whether retrying the same call can help. The HTTP status is derived from
 * the code so the server and the client agree on it without a second table.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, retryable: false },
  unauthenticated: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  not_found: { status: 404, retryable: false },
  conflict: { status: 409, retryable: false },
  invalid_transition: { status: 409, retryable: false },
  quota_exceeded: { status: 403, retryable: false },
  payload_too_large: { status: 413, retryable: false },
  // What the HTTP layer answers before a route is reached; each in the same shape as every other error.
  method_not_allowed: { status: 405, retryable: false },
  request_timeout: { status: 408, retryable: true },
  uri_too_long: { status: 414, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  headers_too_large: { status: 431, retryable: false },
  provider_error: { status: 502, retryable: true },
  provider_throttled: { status: 503, retryable: true },
  provider_auth: { status: 502, retryable: false },
  provider_not_found: { status: 502, retryable: false },
  provider_quota: { status: 502, retryable: false },
  unavailable: { status: 503, retryable: true },
  network: { status: 503, retryable: true },
  internal: { status: 500, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FerryErrorOptions {
  details?: unknown;
  cause?: unknown;
  /** Overrides the code's default retryability, e.g. a provider error known to be permanent. */
  retryable?: boolean;
}

/**
 * The brand every FerryError carries. Bundles (the GitHub Action, the VS Code extension) and plugin
 * packages may each hold their own copy of core, so `instanceof FerryError` is false for an error made
 * by another copy; `Symbol.for` gives every copy the same key, and `isFerryError` checks it instead.
 */
export const FERRY_ERROR_BRAND: unique symbol = Symbol.for("ferry.error");

export class FerryError extends Error {
  override readonly name: string = "FerryError";
  readonly [FERRY_ERROR_BRAND] = true;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/**
 * Whether `error` is a FerryError (from any copy of core: see FERRY_ERROR_BRAND), optionally of `code`.
 * Use this, never `instanceof FerryError`.
 */
export function isFerryError(error: unknown, code?: ErrorCode): error is FerryError {
  if (typeof error !== "object" || error === null || (error as { [FERRY_ERROR_BRAND]?: unknown })[FERRY_ERROR_BRAND] !== true) return false;
  const own = (error as { code?: unknown }).code;
  return isErrorCode(own) && (code === undefined || own === code);
}

/** `error` when it is a FerryError, else a FerryError of `code` with its message and `error` as cause. */
export function toFerryError(error: unknown, code: ErrorCode = "internal", options: Omit<FerryErrorOptions, "cause"> = {}): FerryError {
  if (isFerryError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FerryError(code, message, { ...options, cause: error });
}

/** One validation problem, pointing at the offending field with a JSON pointer-like path. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** `text` cut to `max` characters with "…": input echoed back in a message must not make the answer as large as the input. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** The most issues one validation error lists; a body with a thousand bad items names the first ones. */
const MAX_ISSUES = 20;

/** Issues with their paths and messages clipped (both may echo input), at most MAX_ISSUES of them. */
export function clipIssues(issues: ValidationIssue[]): ValidationIssue[] {
  const kept = issues.slice(0, MAX_ISSUES).map((i) => ({ path: clip(i.path), message: clip(i.message, 300) }));
  if (issues.length > MAX_ISSUES) kept.push({ path: "", message: `and ${issues.length - MAX_ISSUES} more problems` });
  return kept;
}

export function validationError(message: string, issues: ValidationIssue[] = []): FerryError {
  const kept = clipIssues(issues);
  const detail = kept.length === 0 ? "" : `: ${kept.map((i) => (i.path ? `${i.path} ${i.message}` : i.message)).join("; ")}`;
  return new FerryError("validation_failed", `${message}${detail}`, kept.length ? { details: { issues: kept } } : {});
}

export function notFound(kind: string, ref: string, hint?: string): FerryError {
  return new FerryError("not_found", `${kind} '${clip(ref)}' was not found${hint ? `; ${hint}` : ""}`);
}
