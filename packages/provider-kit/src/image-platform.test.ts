import { describe, expect, it } from "vitest";
import { captureLogger } from "./conformance/capture-logger.js";
import {
  MANIFEST_ACCEPT,
  architectureMismatch,
  checkArchitectures,
  createImagePlatformCheck,
  normalizeArchitecture,
  parseBearerChallenge,
  parseImageReference,
  readImageArchitectures,
  selectManifest,
  type ImagePlatform,
  type ManifestList,
  type PlatformWords,
} from "./image-platform.js";

const AMD64: ImagePlatform = { os: "linux", architecture: "amd64" };
const ARM64: ImagePlatform = { os: "linux", architecture: "arm64" };
const words = (p: ImagePlatform): PlatformWords => ({
  runsOn: `the job runs on ${p.architecture}`,
  alternative: (archs) => (archs.map(normalizeArchitecture).includes("arm64") && p.architecture !== "arm64" ? "set the arch job variable to arm64" : undefined),
});
const isAcmeRegistry = (host: string) => host.endsWith(".registry.acme.example");

describe("parseImageReference", () => {
  it.each([
    ["localhost:5000/app", { registry: "localhost:5000", repository: "app", reference: "latest" }],
    ["localhost/app:v1", { registry: "localhost", repository: "app", reference: "v1" }],
    ["registry.internal:8443/a/b@sha256:abc", { registry: "registry.internal:8443", repository: "a/b", reference: "sha256:abc" }],
    ["team.registry.acme.example/team/app:1.2", { registry: "team.registry.acme.example", repository: "team/app", reference: "1.2" }],
  ])("%s", (image, expected) => {
    expect(parseImageReference(image, isAcmeRegistry)).toEqual(expected);
  });

  it.each(["python:3.12", "library/python", "ghcr.io/org/app:1", "ferry-engine:latest", "docker.io/library/python:3", "team.registry.acme.example/app"])(
    "%s is not read without the cloud saying so",
    (image) => {
      expect(parseImageReference(image)).toBeNull();
    },
  );
});

it("normalizes the architectures' other names", () => {
  expect(["x86_64", "AMD64", "aarch64", "arm64", "s390x"].map(normalizeArchitecture)).toEqual(["amd64", "amd64", "arm64", "arm64", "s390x"]);
});

const list: ManifestList = {
  manifests: [
    { digest: "sha256:arm", platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    { digest: "sha256:att", platform: { os: "unknown", architecture: "unknown" } },
    { digest: "sha256:win", platform: { os: "windows", architecture: "amd64" } },
  ],
};

describe("selectManifest", () => {
  it("picks the entry of the platform, and none for an architecture only another os has", () => {
    expect(selectManifest(list, ARM64)?.digest).toBe("sha256:arm");
    expect(selectManifest(list, AMD64)).toBeNull();
    expect(selectManifest({ manifests: [{ digest: "d", platform: { architecture: "x86_64" } }] }, AMD64)?.digest).toBe("d");
  });
});

describe("checkArchitectures", () => {
  it("passes a matching image", () => {
    expect(() => checkArchitectures("img", { list: null, architectures: ["x86_64"] }, AMD64, words(AMD64))).not.toThrow();
    expect(() => checkArchitectures("img", { list, architectures: ["arm64", "amd64"] }, ARM64, words(ARM64))).not.toThrow();
  });

  it("refuses an arm64 image on amd64 with both fixes (Prefect #12425)", () => {
    let error: unknown;
    try {
      checkArchitectures("localhost:5000/app:1", { list: null, architectures: ["arm64"] }, AMD64, words(AMD64));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "validation_failed", retryable: false, details: { image: "localhost:5000/app:1", image_architectures: ["arm64"], platform: "linux/amd64" } });
    expect((error as Error).message).toBe(
      "the image localhost:5000/app:1 is built for arm64, but the job runs on amd64: build it for linux/amd64 (docker build --platform linux/amd64 …) or set the arch job variable to arm64",
    );
  });

  it("refuses a manifest list without the platform", () => {
    expect(() => checkArchitectures("img", { list, architectures: ["arm64", "amd64"] }, AMD64, words(AMD64))).toThrow(/linux\/amd64/);
  });

  it("names no alternative the cloud does not give", () => {
    expect(architectureMismatch("img", ["s390x"], AMD64, words(AMD64)).message).not.toContain(" or ");
  });
});

describe("parseBearerChallenge", () => {
  it("reads realm, service and scope", () => {
    expect(parseBearerChallenge('Bearer realm="https://auth.example/token",service="registry",scope="repository:app:pull"')).toEqual({
      realm: "https://auth.example/token",
      service: "registry",
      scope: "repository:app:pull",
    });
    expect(parseBearerChallenge('Basic realm="x"')).toBeNull();
    expect(parseBearerChallenge(null)).toBeNull();
  });
});

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers });

describe("readImageArchitectures", () => {
  it("reads a single manifest's config blob over plain HTTP for localhost", async () => {
    const seen: { url: string; accept: string | null }[] = [];
    const fakeFetch = (async (url: string | URL, init?: RequestInit) => {
      seen.push({ url: String(url), accept: new Headers(init?.headers).get("accept") });
      if (String(url).endsWith("/manifests/1")) return json({ schemaVersion: 2, config: { digest: "sha256:cfg" } });
      return json({ architecture: "arm64", os: "linux" });
    }) as typeof fetch;
    await expect(readImageArchitectures(parseImageReference("localhost:5000/app:1")!, { fetch: fakeFetch })).resolves.toEqual({ list: null, architectures: ["arm64"] });
    expect(seen).toEqual([
      { url: "http://localhost:5000/v2/app/manifests/1", accept: MANIFEST_ACCEPT },
      { url: "http://localhost:5000/v2/app/blobs/sha256:cfg", accept: "application/json" },
    ]);
  });

  it("returns a manifest list's platforms", async () => {
    const found = await readImageArchitectures(parseImageReference("registry.internal:5000/app:1")!, { fetch: (async () => json(list)) as typeof fetch });
    expect(found).toEqual({ list, architectures: ["arm64", "amd64"] });
  });

  it("gets a token from a bearer challenge, sending the cloud's authorization to the realm", async () => {
    const calls: { url: string; auth: string | null }[] = [];
    const fakeFetch = (async (url: string | URL, init?: RequestInit) => {
      const auth = new Headers(init?.headers).get("authorization");
      calls.push({ url: String(url), auth });
      if (String(url).startsWith("https://auth.example")) return json({ token: "t0k" });
      if (auth !== "Bearer t0k") return json({}, 401, { "www-authenticate": 'Bearer realm="https://auth.example/token",service="reg"' });
      if (String(url).includes("/manifests/")) return json({ config: { digest: "sha256:c" } });
      return json({ architecture: "amd64" });
    }) as typeof fetch;
    const found = await readImageArchitectures(parseImageReference("reg.example:443/app:1")!, { fetch: fakeFetch, authorization: "Basic abc" });
    expect(found.architectures).toEqual(["amd64"]);
    expect(calls.slice(0, 2)).toEqual([
      { url: "https://reg.example:443/v2/app/manifests/1", auth: "Basic abc" },
      { url: "https://auth.example/token?service=reg", auth: "Basic abc" },
    ]);
  });

  it("throws when the registry answers an error", async () => {
    await expect(readImageArchitectures(parseImageReference("localhost:5000/app:1")!, { fetch: (async () => json({ errors: [] }, 404)) as typeof fetch })).rejects.toThrow(/404/);
  });
});

describe("createImagePlatformCheck", () => {
  const registry = (architecture: string | null) => {
    const urls: string[] = [];
    const fetchImpl = (async (url: string | URL, init?: RequestInit) => {
      urls.push(`${String(url)} ${new Headers(init?.headers).get("authorization") ?? "-"}`);
      if (architecture === null) throw new TypeError("fetch failed");
      if (String(url).includes("/manifests/")) return json({ config: { digest: "sha256:c" } });
      return json({ architecture });
    }) as typeof fetch;
    return { urls, fetchImpl };
  };

  it("refuses a mismatch, and remembers the answer for a while", async () => {
    let now = 0;
    const { urls, fetchImpl } = registry("arm64");
    const check = createImagePlatformCheck<null>({ fetch: fetchImpl, words, now: () => now, ttlMs: 1000 });
    await expect(check("localhost:5000/app:1", AMD64, null)).rejects.toMatchObject({ code: "validation_failed" });
    await expect(check("localhost:5000/app:1", AMD64, null)).rejects.toMatchObject({ code: "validation_failed" });
    expect(urls).toHaveLength(2);
    await check("localhost:5000/app:1", ARM64, null);
    expect(urls).toHaveLength(4);
    now = 1001;
    await expect(check("localhost:5000/app:1", AMD64, null)).rejects.toThrow();
    expect(urls).toHaveLength(6);
  });

  it("asks the cloud for its registry's authorization, with the caller's context", async () => {
    const { urls, fetchImpl } = registry("amd64");
    const contexts: unknown[] = [];
    const check = createImagePlatformCheck<{ pool: string }>({
      fetch: fetchImpl,
      words,
      readable: isAcmeRegistry,
      authorization: async (host, context) => {
        contexts.push([host, context]);
        return "Basic acme";
      },
    });
    await check("team.registry.acme.example/app:1", AMD64, { pool: "p" });
    expect(contexts).toEqual([["team.registry.acme.example", { pool: "p" }]]);
    expect(urls[0]).toBe("https://team.registry.acme.example/v2/app/manifests/1 Basic acme");
  });

  it("does not block when the registry cannot be read, and says so at debug level", async () => {
    const { fetchImpl } = registry(null);
    const log = captureLogger();
    const check = createImagePlatformCheck<null>({ fetch: fetchImpl, words, logger: log.logger });
    await expect(check("localhost:5000/app:1", AMD64, null)).resolves.toBeUndefined();
    expect(log.lines()).toEqual([expect.stringMatching(/^debug could not read the image's manifest.*architecture is not checked.*fetch failed/)]);
  });

  it("does not ask registries it cannot read (Docker Hub, bare names)", async () => {
    const { urls, fetchImpl } = registry("arm64");
    await createImagePlatformCheck<null>({ fetch: fetchImpl, words })("python:3.12", AMD64, null);
    expect(urls).toEqual([]);
  });
});
