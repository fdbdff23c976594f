import { FerryError } from "@ferry/core";

/** What Docker says a built image is for (`docker image inspect`'s `Os`, `Architecture`, `Variant`). */
export interface BuiltPlatform {
  Os?: string;
  Architecture?: string;
  Variant?: string;
}

const ARCH_NAMES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64" };

function normalize(arch: string): string {
  const lower = arch.toLowerCase();
  return ARCH_NAMES[lower] ?? lower;
}

/**
 * Refuses an image Docker built for another platform than `build.platform`, before it is pushed. The
 * classic builder quietly uses a base image it has for another architecture (an arm64-only one on an
 * Apple-silicon laptop), and an amd64 cloud then fails the run with "exec format error" long after the
 * deploy (Prefect #12425). A platform Docker does not report is let through.
 */
export function checkBuiltPlatform(reference: string, wanted: string, built: BuiltPlatform): void {
  const [os, arch, variant] = wanted.split("/");
  if (!built.Os || !built.Architecture || !os || !arch) return;
  const sameArch = normalize(built.Architecture) === normalize(arch);
  const sameVariant = !variant || !built.Variant || built.Variant === variant;
  if (built.Os === os && sameArch && sameVariant) return;
  const got = [built.Os, normalize(built.Architecture), built.Variant].filter(Boolean).join("/");
  throw new FerryError(
    "validation_failed",
    `the image built as ${reference} is ${got}, but build.platform is ${wanted}: its base image has no ${wanted} variant on this machine, ` +
      `or Docker cannot build for ${wanted} here (cross-builds need QEMU: docker run --privileged --rm tonistiigi/binfmt --install ${arch}). ` +
      "Nothing was pushed or deployed.",
    { details: { image: reference, built: got, platform: wanted } },
  );
}
