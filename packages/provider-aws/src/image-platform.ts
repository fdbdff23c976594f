import { FerryError } from "@ferry/core";
import type { CpuArchitecture } from "./ecs-template.js";

/**
 * An image built on an Apple-silicon laptop is arm64 and fails on Fargate's default x86_64 with an
 * "exec format error" long after submission (Prefect #12425). When the image's registry can be read,
 * Ferry checks the architecture before starting the task and says how to fix it.
 */

export interface ImageReference {
  registry: string;
  repository: string;
  /** A tag or a digest (`sha256:…`). */
  reference: string;
}

/**
 * The registry, repository and tag of an image, when it names a registry host Ferry can ask over HTTP(S)
 * (an ECR registry, `localhost`, or any `host:port`); null for Docker Hub and other bare names.
 */
export function parseImageReference(image: string): ImageReference | null {
  const slash = image.indexOf("/");
  if (slash < 0) return null;
  const registry = image.slice(0, slash);
  if (!(isEcrRegistry(registry) || /^[^/]+:\d+$/.test(registry) || registry === "localhost")) return null;
  let rest = image.slice(slash + 1);
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon >= 0) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (!rest) return null;
  return { registry, repository: rest, reference };
}

export function isEcrRegistry(host: string): boolean {
  return /^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(host);
}

/** The OCI/Docker architecture name of an ECS cpu_architecture. */
export function ociArchitecture(cpu: CpuArchitecture): "amd64" | "arm64" {
  return cpu === "ARM64" ? "arm64" : "amd64";
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

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { architecture?: string; os?: string; variant?: string };
}

export interface ManifestList {
  manifests: Descriptor[];
}

export function isManifestList(manifest: unknown): manifest is ManifestList {
  return typeof manifest === "object" && manifest !== null && Array.isArray((manifest as ManifestList).manifests);
}

/** The entry of a multi-platform image that runs on linux/<arch> of the chosen cpu_architecture, or null. */
export function selectManifest(list: ManifestList, cpu: CpuArchitecture): Descriptor | null {
  return (
    list.manifests.find((m) => {
      const arch = m.platform?.architecture;
      return (m.platform?.os ?? "linux") === "linux" && arch !== undefined && cpuArchitectureFor(arch) === cpu;
    }) ?? null
  );
}

/** The architectures a manifest list offers for Linux, for the error message. */
export function offeredArchitectures(list: ManifestList): string[] {
  return [...new Set(list.manifests.filter((m) => m.platform?.os !== "unknown" && m.platform?.architecture).map((m) => m.platform!.architecture!))];
}

/** The non-retryable error of an image that cannot run on the chosen platform. */
export function architectureMismatch(image: string, imageArchitectures: string[], cpu: CpuArchitecture): FerryError {
  const have = imageArchitectures.join(", ") || "unknown";
  const other = imageArchitectures.map(cpuArchitectureFor).find((c): c is CpuArchitecture => c !== null && c !== cpu);
  const fix =
    `build it for linux/${ociArchitecture(cpu)} (docker build --platform linux/${ociArchitecture(cpu)} …)` +
    (other ? ` or set the cpu_architecture job variable to ${other}` : "");
  return new FerryError(
    "validation_failed",
    `the image ${image} is built for ${have}, but the task runs on ${cpu === "ARM64" ? "ARM64 (linux/arm64)" : "X86_64 (linux/amd64)"}: ${fix}`,
    { retryable: false, details: { image, image_architectures: imageArchitectures, cpu_architecture: cpu } },
  );
}

/** What the registry check needs from the outside world; tests pass a fake fetch. */
export interface RegistryAccess {
  fetch: typeof fetch;
  /** An `Authorization` header value for the registry (ECR: `Basic <token>`), or undefined for anonymous. */
  authorization?: string;
  timeoutMs?: number;
}

/**
 * Reads an image's architectures from its registry (Docker Registry HTTP API v2): a manifest list gives
 * its platforms; a single manifest its config blob's `architecture`. Throws when the registry cannot
 * be read; the caller decides that this does not block a run.
 */
export async function readImageArchitectures(ref: ImageReference, access: RegistryAccess): Promise<{ list: ManifestList | null; architectures: string[] }> {
  const base = registryBase(ref.registry);
  const manifest = (await registryGet(`${base}/v2/${ref.repository}/manifests/${ref.reference}`, access, MANIFEST_ACCEPT)) as
    | ManifestList
    | { config?: { digest?: string } };
  if (isManifestList(manifest)) return { list: manifest, architectures: offeredArchitectures(manifest) };
  const digest = manifest.config?.digest;
  if (!digest) throw new Error("the manifest has no config blob");
  const config = (await registryGet(`${base}/v2/${ref.repository}/blobs/${digest}`, access, "application/json")) as { architecture?: string };
  if (!config.architecture) throw new Error("the image config has no architecture");
  return { list: null, architectures: [config.architecture] };
}

/** Checks an image against the task's platform; throws the mismatch error, returns when it fits. */
export function checkArchitectures(image: string, found: { list: ManifestList | null; architectures: string[] }, cpu: CpuArchitecture): void {
  if (found.list) {
    if (!selectManifest(found.list, cpu)) throw architectureMismatch(image, found.architectures, cpu);
    return;
  }
  if (!found.architectures.some((a) => cpuArchitectureFor(a) === cpu)) throw architectureMismatch(image, found.architectures, cpu);
}

/** Registries on loopback are plain HTTP (as Docker assumes); others HTTPS. */
function registryBase(registry: string): string {
  const host = registry.replace(/:\d+$/, "");
  const insecure = host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host.endsWith(".localhost");
  return `${insecure ? "http" : "https"}://${registry}`;
}

async function registryGet(url: string, access: RegistryAccess, accept: string, token?: string): Promise<unknown> {
  const headers: Record<string, string> = { accept };
  const auth = token ? `Bearer ${token}` : access.authorization;
  if (auth) headers.authorization = auth;
  const response = await access.fetch(url, { headers, signal: AbortSignal.timeout(access.timeoutMs ?? 3000), redirect: "follow" });
  if (response.status === 401 && !token) {
    // A registry with token auth (distribution's default): ask its realm for an anonymous pull token.
    const challenge = parseBearerChallenge(response.headers.get("www-authenticate"));
    if (challenge) {
      const tokenUrl = new URL(challenge.realm);
      if (challenge.service) tokenUrl.searchParams.set("service", challenge.service);
      if (challenge.scope) tokenUrl.searchParams.set("scope", challenge.scope);
      const tokenResponse = await access.fetch(tokenUrl, {
        headers: access.authorization ? { authorization: access.authorization } : {},
        signal: AbortSignal.timeout(access.timeoutMs ?? 3000),
      });
      if (tokenResponse.ok) {
        const body = (await tokenResponse.json()) as { token?: string; access_token?: string };
        const t = body.token ?? body.access_token;
        if (t) return registryGet(url, access, accept, t);
      }
    }
  }
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json();
}

export function parseBearerChallenge(header: string | null): { realm: string; service?: string; scope?: string } | null {
  if (!header || !/^bearer\s/i.test(header)) return null;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) params[m[1]!.toLowerCase()] = m[2]!;
  if (!params.realm) return null;
  return { realm: params.realm, ...(params.service ? { service: params.service } : {}), ...(params.scope ? { scope: params.scope } : {}) };
}
