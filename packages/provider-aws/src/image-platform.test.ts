import { checkArchitectures } from "@ferry/provider-kit";
import { describe, expect, it } from "vitest";
import { cpuArchitectureFor, platformOf, platformWords } from "./image-platform.js";

describe("the ECS side of the kit's architecture check", () => {
  it("maps cpu_architecture to the OCI platform and back", () => {
    expect(platformOf("X86_64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(platformOf("ARM64")).toEqual({ os: "linux", architecture: "arm64" });
    expect(["amd64", "x86_64", "arm64", "aarch64", "s390x"].map(cpuArchitectureFor)).toEqual(["X86_64", "X86_64", "ARM64", "ARM64", null]);
  });

  it("refuses an arm64 image on X86_64 naming both fixes (Prefect #12425)", () => {
    const platform = platformOf("X86_64");
    expect(() => checkArchitectures("localhost:5000/app:1", { list: null, architectures: ["arm64"] }, platform, platformWords(platform))).toThrow(
      "the image localhost:5000/app:1 is built for arm64, but the task runs on X86_64 (linux/amd64): build it for linux/amd64 (docker build --platform linux/amd64 …) or set the cpu_architecture job variable to ARM64",
    );
  });

  it("does not suggest a cpu_architecture ECS lacks", () => {
    const platform = platformOf("ARM64");
    expect(() => checkArchitectures("img", { list: null, architectures: ["s390x"] }, platform, platformWords(platform))).toThrow(/runs on ARM64 \(linux\/arm64\): build it for linux\/arm64 \(docker build --platform linux\/arm64 …\)$/);
  });
});
