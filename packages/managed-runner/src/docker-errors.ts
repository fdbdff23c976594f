import { FerryError, isFerryError } from "@ferry/core";

/** Socket-level failures: the daemon is not there (or not reachable) rather than refusing a request. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOENT", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ESOCKETTIMEDOUT"]);

/** Daemon answers that no retry changes: the image's command cannot run, a mount source is missing… */
const PERMANENT_SERVER_ERROR = /OCI runtime (create|exec) failed|executable file not found|invalid mount config|bind source path does not exist|invalid reference format/i;

export interface DockerErrorContext {
  /** What was being done, as the rest of a sentence: "start the container for run 0195…". */
  action: string;
  /** Where the daemon was expected, from `describeDockerHost`. */
  host: string;
}

/**
 * Turns whatever dockerode rejected with into a FerryError with a stable code: `unavailable` when the
 * daemon does not answer (retryable; start Docker or use the process backend), `not_found`,
 * `conflict`, `validation_failed` for a request Docker refused, `provider_error` for a daemon failure.
 */
export function classifyDockerError(error: unknown, context: DockerErrorContext): FerryError {
  if (isFerryError(error)) return error;
  const e = (error ?? {}) as { code?: unknown; statusCode?: unknown; json?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : undefined;
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  const detail = dockerMessage(error);

  if (status === undefined) {
    if (code === "EACCES" || code === "EPERM") {
      return new FerryError("unavailable", `could not ${context.action}: permission denied on ${context.host}; add this user to the docker group, or use the process backend`, { cause: error, retryable: false });
    }
    if ((code && UNREACHABLE.has(code)) || /socket hang up|timeout/i.test(detail)) {
      return new FerryError("unavailable", `could not ${context.action}: Docker is not answering at ${context.host} (${code ?? detail}); start Docker, or use the process backend`, { cause: error });
    }
    return new FerryError("internal", `could not ${context.action}: ${detail}`, { cause: error });
  }
  if (status === 404) return new FerryError("not_found", `could not ${context.action}: ${detail}`, { cause: error });
  if (status === 409) return new FerryError("conflict", `could not ${context.action}: ${detail}`, { cause: error });
  if (status === 400) return new FerryError("validation_failed", `Docker refused to ${context.action}: ${detail}`, { cause: error });
  if (status === 401 || status === 403) return new FerryError("provider_auth", `Docker refused to ${context.action}: ${detail}`, { cause: error });
  return new FerryError("provider_error", `Docker failed to ${context.action}: ${detail}`, { cause: error, retryable: !PERMANENT_SERVER_ERROR.test(detail) });
}

/** Docker's own message (`{"message": …}` in the response body) rather than dockerode's wrapper text. */
export function dockerMessage(error: unknown): string {
  const e = (error ?? {}) as { json?: unknown; message?: unknown };
  const json = e.json as { message?: unknown } | null | undefined;
  if (json && typeof json === "object" && typeof json.message === "string") return json.message.trim();
  return typeof e.message === "string" ? e.message.trim() : String(error);
}

/** True for dockerode's rejection with this HTTP status. */
export function hasStatus(error: unknown, status: number): boolean {
  return (error as { statusCode?: unknown } | null)?.statusCode === status;
}
