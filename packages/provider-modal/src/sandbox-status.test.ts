import { describe, expect, it } from "vitest";
import { GENERIC_STATUS, sandboxStatus } from "./sandbox-status.js";

describe("sandboxStatus", () => {
  it("is running while Modal has no result", () => {
    expect(sandboxStatus(undefined, 3600)).toEqual({ phase: "running" });
    expect(sandboxStatus({ status: GENERIC_STATUS.UNSPECIFIED }, 3600)).toEqual({ phase: "running" });
  });

  it("reports the exit code of a process that ended", () => {
    expect(sandboxStatus({ status: GENERIC_STATUS.SUCCESS, exitcode: 0 }, 3600)).toEqual({ phase: "exited", exitCode: 0 });
    expect(sandboxStatus({ status: GENERIC_STATUS.FAILURE, exitcode: 3 }, 3600)).toEqual({ phase: "exited", exitCode: 3 });
  });

  it("says a timeout in plain words with the timeout, as exit code 124", () => {
    expect(sandboxStatus({ status: GENERIC_STATUS.TIMEOUT, exitcode: 0 }, 90)).toEqual({
      phase: "exited",
      exitCode: 124,
      message: "timed out after 90 s: Modal stopped the sandbox at its timeout (raise the timeout job variable)",
    });
  });

  it("reports a terminated sandbox as exit code 137 with Modal's reason", () => {
    expect(sandboxStatus({ status: GENERIC_STATUS.TERMINATED, exception: "stopped from the dashboard" }, 60)).toEqual({
      phase: "exited",
      exitCode: 137,
      message: "the sandbox was terminated: stopped from the dashboard",
    });
  });

  it("reports a sandbox that never ran its command as failed, with Modal's reason", () => {
    expect(sandboxStatus({ status: GENERIC_STATUS.INIT_FAILURE, exception: "exec: no such file" }, 60)).toEqual({ phase: "failed", message: "the sandbox could not start: exec: no such file" });
    expect(sandboxStatus({ status: GENERIC_STATUS.FAILURE, exitcode: 0, exception: "image pull failed" }, 60)).toEqual({ phase: "failed", message: "the sandbox could not run its command: image pull failed" });
    expect(sandboxStatus({ status: GENERIC_STATUS.INTERNAL_FAILURE }, 60)).toMatchObject({ phase: "failed" });
  });

  it("names memory as the fix of an eviction", () => {
    expect(sandboxStatus({ status: GENERIC_STATUS.MEMORY_MANAGER_EVICTION }, 60)).toMatchObject({ phase: "exited", message: expect.stringContaining("memory job variable") });
  });
});
