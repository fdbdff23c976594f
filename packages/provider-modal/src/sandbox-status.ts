import type { InfrastructureStatus } from "@ferry/core";

/** Modal's `GenericResult.status` (modal.client.GenericResult.GenericStatus). */
export const GENERIC_STATUS = {
  UNSPECIFIED: 0,
  SUCCESS: 1,
  FAILURE: 2,
  TERMINATED: 3,
  TIMEOUT: 4,
  INIT_FAILURE: 5,
  INTERNAL_FAILURE: 6,
  IDLE_TIMEOUT: 7,
  MEMORY_MANAGER_EVICTION: 8,
} as const;

/** The exit codes Modal's SDK reports for a sandbox it stopped (`Sandbox.wait()` / `poll()`). */
export const TIMEOUT_EXIT_CODE = 124;
export const TERMINATED_EXIT_CODE = 137;

/** The part of a SandboxWait answer's `result` that says how the sandbox ended. */
export interface SandboxResult {
  status: number;
  exitcode?: number | undefined;
  exception?: string | undefined;
}

/**
 * Modal's view of a sandbox as an InfrastructureStatus. Modal's `create` returns once the sandbox is
 * scheduled, so a sandbox without a result is running. The exit codes are the SDK's (124 timed out,
 * 137 terminated); the messages say why in plain words, since core turns a non-zero exit into a Crashed
 * run with them (and into Cancelled when Ferry asked for the stop).
 */
export function sandboxStatus(result: SandboxResult | undefined, timeoutSeconds: number): InfrastructureStatus {
  if (!result || result.status === GENERIC_STATUS.UNSPECIFIED) return { phase: "running" };
  const exception = result.exception?.trim() ?? "";
  const why = exception ? `: ${exception}` : "";
  switch (result.status) {
    case GENERIC_STATUS.SUCCESS:
      return { phase: "exited", exitCode: result.exitcode ?? 0 };
    case GENERIC_STATUS.TIMEOUT:
      return { phase: "exited", exitCode: TIMEOUT_EXIT_CODE, message: `timed out after ${timeoutSeconds} s: Modal stopped the sandbox at its timeout (raise the timeout job variable)` };
    case GENERIC_STATUS.IDLE_TIMEOUT:
      return { phase: "exited", exitCode: TIMEOUT_EXIT_CODE, message: `Modal stopped the sandbox as idle${why}` };
    case GENERIC_STATUS.TERMINATED:
      return { phase: "exited", exitCode: TERMINATED_EXIT_CODE, message: `the sandbox was terminated${why}` };
    case GENERIC_STATUS.MEMORY_MANAGER_EVICTION:
      return { phase: "exited", exitCode: TERMINATED_EXIT_CODE, message: "the sandbox ran out of memory: raise the memory job variable" };
    case GENERIC_STATUS.INIT_FAILURE:
      return { phase: "failed", message: `the sandbox could not start${why || ": Modal gave no reason"}` };
    case GENERIC_STATUS.INTERNAL_FAILURE:
      return { phase: "failed", message: `Modal lost the sandbox (an internal failure)${why}` };
    case GENERIC_STATUS.FAILURE:
    default:
      // A process that ran has an exit code; a failure without one is a sandbox that never ran it.
      if (result.exitcode) return { phase: "exited", exitCode: result.exitcode, ...(exception ? { message: exception } : {}) };
      return { phase: "failed", message: `the sandbox could not run its command${why || ": Modal gave no reason"}` };
  }
}
