import { describe, expect, it } from "vitest";
import {
  MANIFEST_ACCEPT,
  architectureMismatch,
  checkArchitectures,
  cpuArchitectureFor,
  ociArchitecture,
  parseBearerChallenge,
  parseImageReference,
  readImageArchitectures,
  selectManifest,
  type ManifestList,
} from "./image-platform.js";

describe("parseImageReference", () => {
  it.each([
    ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.2", { registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", repository: "team/app", reference: "1.2" }],
    ["localhost:5000/app", { registry: "localhost:5000", repository: "app", reference: "latest" }],
    ["localhost/app:v1", { registry: "localhost", repository: "app", reference: "v1" }],
    ["registry.internal:8443/a/b@sha256:abc", { registry: "registry.internal:8443", repository: "a/b", reference: "sha256:abc" }],
  ])("%s", (image, expected) => {
    expect(parseImageReference(image)).toEqual(expected);
  });

  it.each(["python:3.12", "library/python", "ghcr.io/org/app:1", "ferry-engine:latest", "docker.io/library/python:3"])("%s is not checked", (image) => {
    expect(parseImageReference(image)).toBeNull();
  });
});

describe("architectures", () => {
  it("maps ECS cpu_architecture and OCI names both ways", () => {
    expect(ociArchitecture("X86_64")).toBe("amd64");
    expect(ociArchitecture("ARM64")).toBe("arm64");
    expect(cpuArchitectureFor("amd64")).toBe("X86_64");
    expect(cpuArchitectureFor("arm64")).toBe("ARM64");
    expect(cpuArchitectureFor("aarch64")).toBe("ARM64");
    expect(cpuArchitectureFor("s390x")).toBeNull();
  });
});

const list: ManifestList = {
  manifests: [
    { digest: "sha256:arm", platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    { digest: "sha256:att", platform: { os: "unknown", architecture: "unknown" } },
    { digest: "sha256:win", platform: { os: "windows", architecture: "amd64" } },
  ],
};

describe("selectManifest", () => {
  it("picks the linux entry of the task's architecture", () => {
    expect(selectManifest(list, "ARM64")?.digest).toBe("sha256:arm");
  });

  it("finds none for an architecture the image lacks (a windows/amd64 entry does not count)", () => {
    expect(selectManifest(list, "X86_64")).toBeNull();
  });

  it("accepts an entry without os", () => {
    expect(selectManifest({ manifests: [{ digest: "d", platform: { architecture: "amd64" } }] }, "X86_64")?.digest).toBe("d");
  });
});

describe("checkArchitectures", () => {
  it("passes a matching single-platform image", () => {
    expect(() => checkArchitectures("img", { list: null, architectures: ["amd64"] }, "X86_64")).not.toThrow();
  });

  it("refuses an arm64 image on X86_64 with the fix (Prefect #12425)", () => {
    let error: unknown;
    try {
      checkArchitectures("localhost:5000/app:1", { list: null, architectures: ["arm64"] }, "X86_64");
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "validation_failed", retryable: false });
    expect((error as Error).message).toBe(
      "the image localhost:5000/app:1 is built for arm64, but the task runs on X86_64 (linux/amd64): build it for linux/amd64 (docker build --platform linux/amd64 …) or set the cpu_architecture job variable to ARM64",
    );
  });

  it("refuses a manifest list without the task's architecture", () => {
    expect(() => checkArchitectures("img", { list, architectures: ["arm64", "amd64"] }, "X86_64")).toThrow(/linux\/amd64/);
  });

  it("does not suggest a cpu_architecture ECS lacks", () => {
    expect(architectureMismatch("img", ["s390x"], "X86_64").message).not.toContain("cpu_architecture");
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

describe("readImageArchitectures", () => {
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers });

  it("reads a single manifest's config blob over plain HTTP for localhost", async () => {
    const seen: { url: string; accept: string | null }[] = [];
    const fakeFetch = (async (url: string | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      seen.push({ url: String(url), accept: headers.get("accept") });
      if (String(url).endsWith("/manifests/1")) return json({ schemaVersion: 2, config: { digest: "sha256:cfg" } });
      return json({ architecture: "arm64", os: "linux" });
    }) as typeof fetch;
    const ref = parseImageReference("localhost:5000/app:1")!;
    await expect(readImageArchitectures(ref, { fetch: fakeFetch })).resolves.toEqual({ list: null, architectures: ["arm64"] });
    expect(seen).toEqual([
      { url: "http://localhost:5000/v2/app/manifests/1", accept: MANIFEST_ACCEPT },
      { url: "http://localhost:5000/v2/app/blobs/sha256:cfg", accept: "application/json" },
    ]);
  });

  it("returns a manifest list's platforms", async () => {
    const fakeFetch = (async () => json(list)) as typeof fetch;
    const found = await readImageArchitectures(parseImageReference("registry.internal:5000/app:1")!, { fetch: fakeFetch });
    expect(found.list).toEqual(list);
    expect(found.architectures).toEqual(["arm64", "amd64"]);
  });

  it("gets an anonymous token from a bearer challenge and sends ECR-style authorization", async () => {
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
    expect(calls[0]).toEqual({ url: "https://reg.example:443/v2/app/manifests/1", auth: "Basic abc" });
    expect(calls[1]).toEqual({ url: "https://auth.example/token?service=reg", auth: "Basic abc" });
  });

  it("throws when the registry answers an error", async () => {
    const fakeFetch = (async () => json({ errors: [] }, 404)) as typeof fetch;
    await expect(readImageArchitectures(parseImageReference("localhost:5000/app:1")!, { fetch: fakeFetch })).rejects.toThrow(/404/);
  });
});
