import { describe, expect, it } from "vitest";
import { checkBuiltPlatform } from "./platform.js";

describe("checkBuiltPlatform", () => {
  it("lets an image built for the platform through, whatever Docker calls its architecture", () => {
    expect(() => checkBuiltPlatform("r/x:1", "linux/amd64", { Os: "linux", Architecture: "amd64" })).not.toThrow();
    expect(() => checkBuiltPlatform("r/x:1", "linux/amd64", { Os: "linux", Architecture: "x86_64" })).not.toThrow();
    expect(() => checkBuiltPlatform("r/x:1", "linux/arm64", { Os: "linux", Architecture: "aarch64", Variant: "v8" })).not.toThrow();
    expect(() => checkBuiltPlatform("r/x:1", "linux/arm64/v8", { Os: "linux", Architecture: "arm64", Variant: "v8" })).not.toThrow();
  });

  it("refuses an arm64-only result for amd64, saying what was built and how to fix it", () => {
    expect(() => checkBuiltPlatform("reg.io/team/etl:v1", "linux/amd64", { Os: "linux", Architecture: "arm64", Variant: "v8" })).toThrow(
      "the image built as reg.io/team/etl:v1 is linux/arm64/v8, but build.platform is linux/amd64: its base image has no linux/amd64 variant on this machine, " +
        "or Docker cannot build for linux/amd64 here (cross-builds need QEMU: docker run --privileged --rm tonistiigi/binfmt --install amd64). Nothing was pushed or deployed.",
    );
    expect(() => checkBuiltPlatform("x", "linux/arm/v7", { Os: "linux", Architecture: "arm", Variant: "v6" })).toThrow(/is linux\/arm\/v6/);
  });

  it("lets through what Docker does not report", () => {
    expect(() => checkBuiltPlatform("x", "linux/amd64", {})).not.toThrow();
  });
});
