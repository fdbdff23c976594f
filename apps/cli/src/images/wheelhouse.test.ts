import { describe, expect, it } from "vitest";
import { parsePythonProbe, pipDownloadArgs, pipPlatformTag } from "./wheelhouse.js";

describe("wheelhouse", () => {
  it("asks pip for binary wheels that fit the image's Python, platform and glibc", () => {
    const target = parsePythonProbe("3.11 2.36\n", "linux/amd64");
    expect(target).toEqual({ pythonVersion: "3.11", glibc: "2.36", platform: "linux/amd64" });
    expect(pipDownloadArgs("/ctx/requirements.txt", "/ctx/wheels", target)).toEqual([
      "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
      "--dest", "/ctx/wheels", "--only-binary=:all:", "--platform", "manylinux_2_36_x86_64",
      "--python-version", "3.11", "--implementation", "cp", "-r", "/ctx/requirements.txt",
    ]);
    expect(pipPlatformTag({ ...target, platform: "linux/arm64" })).toBe("manylinux_2_36_aarch64");
  });

  it("refuses what wheels cannot be chosen for", () => {
    expect(() => pipPlatformTag({ pythonVersion: "3.11", glibc: "2.36", platform: "windows/amd64" })).toThrow(/use linux\/amd64 or linux\/arm64/);
    expect(() => pipPlatformTag(parsePythonProbe("3.12 -", "linux/amd64"))).toThrow(/not glibc.*build\.dockerfile/);
    expect(() => parsePythonProbe("", "linux/amd64")).toThrow(/could not tell the base image's Python version/);
  });
});
