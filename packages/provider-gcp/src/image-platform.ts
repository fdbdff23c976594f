import type { ImagePlatform, PlatformWords } from "@ferry/provider-kit";

/** Cloud Run runs linux/amd64 images only. */
export const PLATFORM: ImagePlatform = { os: "linux", architecture: "amd64" };

/** Artifact Registry (`REGION-docker.pkg.dev`) and Container Registry (`gcr.io`, `REGION.gcr.io`) hosts. */
export function isArtifactRegistryHost(host: string): boolean {
  return /^[a-z0-9-]+-docker\.pkg\.dev$/.test(host) || /^([a-z]+\.)?gcr\.io$/.test(host);
}

/** How the kit's architecture check speaks of Cloud Run: one platform, so the only fix is to rebuild. */
export function platformWords(_platform: ImagePlatform): PlatformWords {
  return {
    runsOn: "Cloud Run runs linux/amd64 images only",
    alternative: (archs) => (archs.includes("arm64") ? "build a multi-platform image (docker buildx build --platform linux/amd64,linux/arm64 …)" : undefined),
  };
}
