import type { ImagePlatform, PlatformWords } from "@ferry/provider-kit";
import type { CpuArchitecture } from "./ecs-template.js";

/** The platform an ECS task of `cpu` runs on, in OCI names. */
export function platformOf(cpu: CpuArchitecture): ImagePlatform {
  return { os: "linux", architecture: cpu === "ARM64" ? "arm64" : "amd64" };
}

/** The ECS cpu_architecture that runs an OCI architecture, or null when ECS has none for it. */
export function cpuArchitectureFor(ociArch: string): CpuArchitecture | null {
  switch (ociArch) {
    case "amd64":
    case "x86_64":
      return "X86_64";
    case "arm64":
    case "aarch64":
      return "ARM64";
    default:
      return null;
  }
}

/** How the kit's architecture check speaks of an ECS task: its cpu_architecture, and the job variable that changes it. */
export function platformWords(platform: ImagePlatform): PlatformWords {
  const cpu = cpuArchitectureFor(platform.architecture) ?? "X86_64";
  return {
    runsOn: `the task runs on ${cpu === "ARM64" ? "ARM64 (linux/arm64)" : "X86_64 (linux/amd64)"}`,
    alternative: (archs) => {
      const other = archs.map(cpuArchitectureFor).find((c): c is CpuArchitecture => c !== null && c !== cpu);
      return other ? `set the cpu_architecture job variable to ${other}` : undefined;
    },
  };
}
