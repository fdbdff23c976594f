import { isFerryError, type ErrorCode } from "@ferry/core";

/**
 * Exit codes scripts can rely on. Documented in `ferry --help` and the README; changing one is a
 * breaking change.
 */
export const ExitCode = {
  ok: 0,
  /** Anything else that went wrong, including a watched run that did not complete. */
  failure: 1,
  /** Bad usage: unknown option, missing argument, a value the server or the CLI rejected. */
  usage: 2,
  auth: 3,
  notFound: 4,
  /** The request clashes with what exists (a name taken, a transition refused) or with a quota. */
  conflict: 5,
  unreachable: 6,
  /** Stopped by Ctrl+C or SIGTERM. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_CODE: Record<ErrorCode, ExitCode> = {
  validation_failed: ExitCode.usage,
  payload_too_large: ExitCode.usage,
  method_not_allowed: ExitCode.usage,
  uri_too_long: ExitCode.usage,
  unsupported_media_type: ExitCode.usage,
  headers_too_large: ExitCode.usage,
  request_timeout: ExitCode.unreachable,
  unauthenticated: ExitCode.auth,
  forbidden: ExitCode.auth,
  not_found: ExitCode.notFound,
  conflict: ExitCode.conflict,
  invalid_transition: ExitCode.conflict,
  quota_exceeded: ExitCode.conflict,
  network: ExitCode.unreachable,
  unavailable: ExitCode.unreachable,
  provider_error: ExitCode.failure,
  provider_throttled: ExitCode.failure,
  provider_auth: ExitCode.failure,
  provider_not_found: ExitCode.failure,
  provider_quota: ExitCode.failure,
  internal: ExitCode.failure,
};

/**
 * The code of a Ferry error. Checked by its brand, not `instanceof`: `@ferry/server` and the providers'
 * client plugins are loaded from their own packages, so their errors come from other copies of core's
 * `FerryError` class than the CLI's bundled one.
 */
export function ferryErrorCode(error: unknown): ErrorCode | null {
  return isFerryError(error) ? error.code : null;
}

export function exitCodeFor(error: unknown): ExitCode {
  const code = ferryErrorCode(error);
  return code ? BY_CODE[code] : ExitCode.failure;
}

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    failure, including a watched run that did not end COMPLETED
  2    bad usage or a value rejected by validation
  3    authentication failed (missing or wrong API key or admin token)
  4    not found
  5    conflict (name taken, transition refused) or quota exceeded
  6    server unreachable or unavailable
  130  interrupted (Ctrl+C)`;
