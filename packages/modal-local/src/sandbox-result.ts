/** Modal's GenericResult statuses (modal.client.GenericResult.GenericStatus). */
export const GenericStatus = {
  UNSPECIFIED: 0,
  SUCCESS: 1,
  FAILURE: 2,
  TERMINATED: 3,
  TIMEOUT: 4,
  INIT_FAILURE: 5,
  INTERNAL_FAILURE: 6,
} as const;

export interface GenericResult {
  status: number;
  exitcode: number;
  exception: string;
}

/** How a sandbox's program ended, as the local server saw it. */
export type SandboxEnd =
  | { kind: "exited"; exitCode: number; oomKilled?: boolean; memoryMib?: number }
  | { kind: "timed-out"; timeoutSecs: number }
  | { kind: "terminated" }
  | { kind: "failed-to-start"; reason: string };

/**
 * The result Modal reports for a finished sandbox. The SDK's `wait()` turns it into the exit code:
 * TIMEOUT → 124, TERMINATED → 137, otherwise `exitcode`.
 */
export function sandboxResult(end: SandboxEnd): GenericResult {
  switch (end.kind) {
    case "exited":
      if (end.exitCode === 0) return { status: GenericStatus.SUCCESS, exitcode: 0, exception: "" };
      if (end.oomKilled === true) {
        const limit = end.memoryMib === undefined ? "" : ` of ${end.memoryMib} MiB`;
        return { status: GenericStatus.FAILURE, exitcode: end.exitCode, exception: `Sandbox ran out of memory: it exceeded its memory limit${limit} and was killed (OOM).` };
      }
      return { status: GenericStatus.FAILURE, exitcode: end.exitCode, exception: `Sandbox exited with code ${end.exitCode}.` };
    case "timed-out":
      return { status: GenericStatus.TIMEOUT, exitcode: 124, exception: `Sandbox timed out after ${end.timeoutSecs} seconds.` };
    case "terminated":
      return { status: GenericStatus.TERMINATED, exitcode: 137, exception: "Sandbox was terminated." };
    case "failed-to-start":
      // The SDK's wait() gives `exitcode` for this status: never 0, which would read as success.
      return { status: GenericStatus.INIT_FAILURE, exitcode: 1, exception: end.reason };
  }
}

/** The exit code the SDK's `wait()` and `poll()` give for a result (its getReturnCode). */
export function sdkReturnCode(result: GenericResult): number {
  if (result.status === GenericStatus.TIMEOUT) return 124;
  if (result.status === GenericStatus.TERMINATED) return 137;
  return result.exitcode;
}
