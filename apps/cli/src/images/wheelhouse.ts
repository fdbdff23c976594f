import { FerryError } from "@ferry/core";

/** What the wheels must fit: the base image's Python and C library, and the build's platform. */
export interface PythonTarget {
  /** `3.11` */
  pythonVersion: string;
  /** glibc version, `2.36`; empty for a musl or unknown C library. */
  glibc: string;
  /** `linux/amd64` */
  platform: string;
}

const ARCHES: Record<string, string> = { amd64: "x86_64", arm64: "aarch64", "arm64/v8": "aarch64", "arm/v7": "armv7l", "386": "i686", ppc64le: "ppc64le", s390x: "s390x" };

/** The pip platform tag of a Docker platform, e.g. `manylinux_2_36_x86_64`; pip also accepts older manylinux tags for it. */
export function pipPlatformTag(target: PythonTarget): string {
  const [os, ...rest] = target.platform.split("/");
  const arch = ARCHES[rest.join("/")] ?? ARCHES[rest[0] ?? ""];
  if (os !== "linux" || !arch) throw new FerryError("validation_failed", `build.platform: cannot install Python wheels for ${target.platform}; use linux/amd64 or linux/arm64`);
  if (!/^\d+\.\d+$/.test(target.glibc)) {
    throw new FerryError("validation_failed", `the base image's C library is not glibc, so wheels cannot be chosen for it; use build.dockerfile to install the requirements yourself`);
  }
  return `manylinux_${target.glibc.replace(".", "_")}_${arch}`;
}

/**
 * `pip download` arguments for a wheelhouse that fits the image, whatever this machine is (a Mac, an
 * ARM laptop): binary wheels only, for the image's Python, platform and C library.
 */
export function pipDownloadArgs(requirements: string, dest: string, target: PythonTarget): string[] {
  return [
    "-m", "pip", "download",
    "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
    "--dest", dest,
    "--only-binary=:all:",
    "--platform", pipPlatformTag(target),
    "--python-version", target.pythonVersion,
    "--implementation", "cp",
    "-r", requirements,
  ];
}

/** The script that prints a Python's version and C library, run in the base image. */
export const PYTHON_PROBE = 'import sys, platform; print("%d.%d" % sys.version_info[:2], platform.libc_ver()[1] or "-")';

export function parsePythonProbe(output: string, platform: string): PythonTarget {
  const m = /(\d+\.\d+)\s+(\S+)/.exec(output.trim());
  if (!m) throw new FerryError("internal", `could not tell the base image's Python version (it printed: ${output.trim().slice(0, 200) || "nothing"})`);
  return { pythonVersion: m[1]!, glibc: m[2] === "-" ? "" : m[2]!, platform };
}
