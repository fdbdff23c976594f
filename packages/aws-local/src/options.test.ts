import { describe, expect, it } from "vitest";
import { resolveAwsLocalOptions } from "./aws-local-options.js";
import { parseCliArgs } from "./cli-args.js";

describe("resolveAwsLocalOptions", () => {
  it("fills in the defaults", () => {
    expect(resolveAwsLocalOptions()).toMatchObject({ host: "127.0.0.1", port: 0, accountId: "123456789012", rootAccessKeyId: "AKIAFERRYLOCALROOT", defaultVpc: true, stateFile: null, taskNetwork: "host", defaultStopTimeoutSeconds: 30, registryUrl: null, registryPassword: "aws-local" });
  });

  it.each([
    [{ port: 70000 }, "port"],
    [{ accountId: "42" }, "accountId"],
    [{ rootAccessKeyId: "lower" }, "rootAccessKeyId"],
    [{ taskNetwork: "overlay" as "host" }, "taskNetwork"],
    [{ registryUrl: "not a url" }, "registryUrl"],
    [{ defaultStopTimeoutSeconds: -1 }, "defaultStopTimeoutSeconds"],
  ])("refuses %j, naming %s", (options, name) => {
    expect(() => resolveAwsLocalOptions(options)).toThrow(expect.objectContaining({ code: "invalid_options", message: expect.stringContaining(name) }));
  });
});

describe("parseCliArgs", () => {
  it("maps flags to options, port 4566 by default", () => {
    expect(parseCliArgs([])).toMatchObject({ port: 4566 });
    expect(parseCliArgs(["--port", "0", "--task-network", "bridge", "--no-default-vpc", "--state-file", "/tmp/s.json", "--registry-url", "http://127.0.0.1:5000"])).toMatchObject({
      port: 0,
      taskNetwork: "bridge",
      defaultVpc: false,
      stateFile: "/tmp/s.json",
      registryUrl: "http://127.0.0.1:5000",
    });
  });

  it("refuses an unknown flag", () => {
    expect(() => parseCliArgs(["--bogus"])).toThrow();
  });
});
