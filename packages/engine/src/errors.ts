/**
 * Failures of the engine itself, each with a stable `code`. Every one of them ends the run CRASHED:
 * the flow's own code never ran, or could not be loaded. (When the flow's code raises, that is no
 * engine error but the run's FAILED outcome.)
 */
export const ENGINE_ERROR_CODES = {
  /** The engine's environment is incomplete or malformed. */
  invalid_config: { retryable: false },
  /** The deployment's pull steps or the job's packages cannot be understood. */
  invalid_pull_step: { retryable: false },
  invalid_packages: { retryable: false },
  clone_failed: { retryable: true },
  /** A blob source could not be listed, read or verified (bucket not found, access denied, no objects, a damaged download). */
  download_failed: { retryable: true },
  install_failed: { retryable: true },
  /** A `run_shell_script` step exited non-zero. */
  step_failed: { retryable: false },
  invalid_entrypoint: { retryable: false },
  entrypoint_file_missing: { retryable: false },
  function_missing: { retryable: false },
  /** Importing the flow's file raised, or bundling it failed. */
  load_failed: { retryable: false },
  /** The flow's process ended without a result or an error report (killed, `os._exit`, `process.exit`). */
  flow_process_died: { retryable: false },
  /**
   * A process of the run (the flow, pip, npm) was killed with SIGKILL from outside: the kernel's OOM
   * killer or the platform. The engine cannot tell which; the server can (Docker's OOMKilled), so the
   * engine reports nothing and exits 137.
   */
  killed: { retryable: false },
  /**
   * The server refused RUNNING because the run was cancelled (or ended) while the engine set it up:
   * the flow is not started and nothing is reported; the server settles the run.
   */
  superseded: { retryable: false },
  cache_lock_timeout: { retryable: true },
  /** The server could not be reached or refused a call the engine needs. */
  api_failed: { retryable: true },
  internal: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type EngineErrorCode = keyof typeof ENGINE_ERROR_CODES;

export class EngineError extends Error {
  override readonly name = "EngineError";
  readonly code: EngineErrorCode;
  readonly retryable: boolean;

  constructor(code: EngineErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? ENGINE_ERROR_CODES[code].retryable;
  }
}

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}
