import { describe, expect, it } from "vitest";
import { parseCliArgs } from "./cli-args.js";

describe("parseCliArgs", () => {
  it("reads the options and the info file", () => {
    expect(parseCliArgs(["--port", "0", "--no-docker", "--network", "bridge", "--info-file", "/tmp/x.json", "--tenant-id", "t1"])).toEqual({
      options: { port: 0, docker: null, network: "bridge", tenantId: "t1" },
      infoFile: "/tmp/x.json",
    });
    expect(parseCliArgs([]).options).toEqual({ port: 8443 });
  });

  it("names what is wrong", () => {
    expect(() => parseCliArgs(["--port", "http"])).toThrow("--port must be a port number");
    expect(() => parseCliArgs(["--network", "overlay"])).toThrow("--network must be host or bridge");
    expect(() => parseCliArgs(["--nope"])).toThrow();
  });
});
