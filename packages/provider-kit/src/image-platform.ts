import { FerryError } from "@ferry/core";
import { BoundedMap } from "./bounded-map.js";
import { silentLogger, type ProviderLogger } from "./logger.js";

/**
 * An image built on an Apple-silicon laptop is arm64 and fails on an amd64 cloud with an "exec format
 * error" long after submission (Prefect #12425). When the image's registry can be read (Docker Registry
 * HTTP API v2, with the bearer-token challenge of distribution), a provider checks the image's
 * architecture before it submits and says how to fix a mismatch. The cloud supplies the platform it runs
 * on and, for its own registry, an authorization.
 */

export interface ImageReference {
  /** The registry host, with its port when it has one. */
  registry: string;
  repository: string;
  /** A tag or a digest (`sha256:…`). */
  reference: string;
}

/** The platform a job runs on, in OCI names: `linux`, `amd64`/`arm64`. */
export interface ImagePlatform {
  os: string;
  architecture: string;
}

/** Registries Ferry asks anonymously: `localhost` and any `host:port` (a local or private registry). */
export function isLocalOrPortRegistry(registry: string): boolean {
  return registry === "localhost" || /^[^/]+:\d+$/.test(registry);
}

/**
 * The registry, repository and tag of `image` when its registry is one Ferry can ask (`readable`,
 * default: localhost or a host with a port; a provider adds its cloud's registries); null for Docker Hub
 * and other bare names.
 */
export function parseImageReference(image: string, readable: (registry: string) => boolean = isLocalOrPortRegistry): ImageReference | null {
  const slash = image.indexOf("/");
  if (slash < 0) return null;
  const registry = image.slice(0, slash);
  if (!(isLocalOrPortRegistry(registry) || readable(registry))) return null;
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
  if (!rest || !reference) return null;
  return { registry, repository: rest, reference };
}

/** The OCI name of an architecture, from the names kernels and tools also use (`x86_64`, `aarch64`). */
export function normalizeArchitecture(architecture: string): string {
  switch (architecture.toLowerCase()) {
    case "x86_64":
    case "x86-64":
    case "amd64":
      return "amd64";
    case "aarch64":
    case "arm64":
      return "arm64";
    default:
      return architecture.toLowerCase();
  }
}

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface ManifestDescriptor {
  mediaType?: string;
  digest: string;
  platform?: { architecture?: string; os?: string; variant?: string };
}

export interface ManifestList {
  manifests: ManifestDescriptor[];
}

export function isManifestList(manifest: unknown): manifest is ManifestList {
  return typeof manifest === "object" && manifest !== null && Array.isArray((manifest as ManifestList).manifests);
}

/** What a registry says an image is built for: a multi-platform list, or one config's architecture. */
export interface ImageArchitectures {
  list: ManifestList | null;
  architectures: string[];
}

/** The entry of a multi-platform image that runs on `platform` (an entry without `os` counts as linux), or null. */
export function selectManifest(list: ManifestList, platform: ImagePlatform): ManifestDescriptor | null {
  return (
    list.manifests.find((m) => {
      const arch = m.platform?.architecture;
      return (m.platform?.os ?? "linux") === platform.os && arch !== undefined && normalizeArchitecture(arch) === normalizeArchitecture(platform.architecture);
    }) ?? null
  );
}

/** The architectures a manifest list offers (attestation entries, `unknown/unknown`, left out). */
export function offeredArchitectures(list: ManifestList): string[] {
  return [...new Set(list.manifests.filter((m) => m.platform?.os !== "unknown" && m.platform?.architecture).map((m) => m.platform!.architecture!))];
}

/** How the cloud names its platform in the mismatch message, and what else the user could set. */
export interface PlatformWords {
  /** E.g. "the task runs on X86_64 (linux/amd64)". */
  runsOn: string;
  /** Another fix given the image's architectures, e.g. "set the cpu_architecture job variable to ARM64"; undefined for none. */
  alternative?: (imageArchitectures: string[]) => string | undefined;
}

/** The non-retryable error of an image that cannot run on the platform, naming both fixes. */
export function architectureMismatch(image: string, imageArchitectures: string[], platform: ImagePlatform, words: PlatformWords): FerryError {
  const have = imageArchitectures.join(", ") || "unknown";
  const target = `${platform.os}/${normalizeArchitecture(platform.architecture)}`;
  const other = words.alternative?.(imageArchitectures);
  return new FerryError(
    "validation_failed",
    `the image ${image} is built for ${have}, but ${words.runsOn}: build it for ${target} (docker build --platform ${target} …)${other ? ` or ${other}` : ""}`,
    { retryable: false, details: { image, image_architectures: imageArchitectures, platform: target } },
  );
}

/** Whether the image runs on the platform; throws the mismatch error when it does not. */
export function checkArchitectures(image: string, found: ImageArchitectures, platform: ImagePlatform, words: PlatformWords): void {
  const fits = found.list ? selectManifest(found.list, platform) !== null : found.architectures.some((a) => normalizeArchitecture(a) === normalizeArchitecture(platform.architecture));
  if (!fits) throw architectureMismatch(image, found.architectures, platform, words);
}

/** What reading a registry needs from outside; tests pass a fake fetch. */
export interface RegistryAccess {
  fetch: typeof fetch;
  /** An `Authorization` header value for the registry (e.g. `Basic <token>` from the cloud), or undefined for anonymous. */
  authorization?: string | undefined;
  timeoutMs?: number;
}

/**
 * Reads an image's architectures from its registry: a manifest list gives its platforms; a single
 * manifest its config blob's `architecture`. Throws when the registry cannot be read; the caller decides
 * that this does not block a run.
 */
export async function readImageArchitectures(ref: ImageReference, access: RegistryAccess): Promise<ImageArchitectures> {
  const base = registryBase(ref.registry);
  const manifest = (await registryGet(`${base}/v2/${ref.repository}/manifests/${ref.reference}`, access, MANIFEST_ACCEPT)) as ManifestList | { config?: { digest?: string } };
  if (isManifestList(manifest)) return { list: manifest, architectures: offeredArchitectures(manifest) };
  const digest = manifest.config?.digest;
  if (!digest) throw new Error("the manifest has no config blob");
  const config = (await registryGet(`${base}/v2/${ref.repository}/blobs/${digest}`, access, "application/json")) as { architecture?: string };
  if (!config.architecture) throw new Error("the image config has no architecture");
  return { list: null, architectures: [config.architecture] };
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
  const timeout = access.timeoutMs ?? 3000;
  const response = await access.fetch(url, { headers, signal: AbortSignal.timeout(timeout), redirect: "follow" });
  if (response.status === 401 && !token) {
    // A registry with token auth (distribution's default): ask its realm for a pull token.
    const challenge = parseBearerChallenge(response.headers.get("www-authenticate"));
    if (challenge) {
      const tokenUrl = new URL(challenge.realm);
      if (challenge.service) tokenUrl.searchParams.set("service", challenge.service);
      if (challenge.scope) tokenUrl.searchParams.set("scope", challenge.scope);
      const tokenResponse = await access.fetch(tokenUrl, {
        headers: access.authorization ? { authorization: access.authorization } : {},
        signal: AbortSignal.timeout(timeout),
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

export interface ImagePlatformCheckOptions<C> {
  /** Registries besides localhost and `host:port` that may be read, e.g. the cloud's own. */
  readable?: (registry: string) => boolean;
  /** The `Authorization` header for a registry (the cloud's registry token), or undefined for anonymous. */
  authorization?: (registry: string, context: C) => Promise<string | undefined>;
  words: (platform: ImagePlatform) => PlatformWords;
  fetch?: typeof fetch;
  logger?: ProviderLogger;
  /** How long an answer is trusted; default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

/** Checks an image against a platform before a job is submitted; see createImagePlatformCheck. */
export type ImagePlatformCheck<C> = (image: string, platform: ImagePlatform, context: C) => Promise<void>;

/**
 * The check a provider runs before it submits: refuses an image that cannot run on the platform, when
 * its registry can be read. A registry that cannot be read does not block the run (the cloud will report
 * the real outcome): it is logged at debug level. Answers are remembered for `ttlMs`, per image and platform.
 */
export function createImagePlatformCheck<C>(options: ImagePlatformCheckOptions<C>): ImagePlatformCheck<C> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const logger = options.logger ?? silentLogger;
  const ttl = options.ttlMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const checked = new BoundedMap<string, { at: number; error: FerryError | null }>(5000);
  return async (image, platform, context) => {
    const ref = parseImageReference(image, options.readable);
    if (!ref) return;
    const key = `${image}|${platform.os}/${normalizeArchitecture(platform.architecture)}`;
    const cached = checked.get(key);
    if (cached && now() - cached.at < ttl) {
      if (cached.error) throw cached.error;
      return;
    }
    let found: ImageArchitectures;
    try {
      const authorization = options.authorization ? await options.authorization(ref.registry, context) : undefined;
      found = await readImageArchitectures(ref, { fetch: fetchImpl, authorization });
    } catch (error) {
      logger.debug({ image, reason: (error as Error)?.message ?? String(error) }, "could not read the image's manifest from its registry; its architecture is not checked");
      return;
    }
    try {
      checkArchitectures(image, found, platform, options.words(platform));
      checked.set(key, { at: now(), error: null });
    } catch (error) {
      checked.set(key, { at: now(), error: error as FerryError });
      throw error;
    }
  };
}
