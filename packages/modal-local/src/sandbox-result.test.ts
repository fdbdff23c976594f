import { describe, expect, it } from "vitest";
import { GenericStatus, sandboxResult, sdkReturnCode } from "./sandbox-result.js";

describe("sandboxResult", () => {
  it("maps each way a sandbox ends to Modal's result and the SDK's exit code", () => {
    const cases = [
      [{ kind: "exited", exitCode: 0 }, GenericStatus.SUCCESS, 0],
      [{ kind: "exited", exitCode: 1 }, GenericStatus.FAILURE, 1],
      [{ kind: "timed-out", timeoutSecs: 60 }, GenericStatus.TIMEOUT, 124],
      [{ kind: "terminated" }, GenericStatus.TERMINATED, 137],
      [{ kind: "failed-to-start", reason: "no image" }, GenericStatus.INIT_FAILURE, 1],
    ] as const;
    for (const [end, status, code] of cases) {
      const result = sandboxResult(end);
      expect(result.status).toBe(status);
      expect(sdkReturnCode(result)).toBe(code);
    }
  });

  it("says why: the timeout's length, an OOM kill with its limit, the start failure's reason", () => {
    expect(sandboxResult({ kind: "timed-out", timeoutSecs: 90 }).exception).toBe("Sandbox timed out after 90 seconds.");
    expect(sandboxResult({ kind: "exited", exitCode: 137, oomKilled: true, memoryMib: 512 }).exception).toContain("memory limit of 512 MiB");
    expect(sandboxResult({ kind: "failed-to-start", reason: "Image x is not on the local Docker engine" }).exception).toBe("Image x is not on the local Docker engine");
  });
});
