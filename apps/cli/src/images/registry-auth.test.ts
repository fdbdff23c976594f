import { describe, expect, it } from "vitest";
import { credentialsFromJson, decodeEcrToken, registryAuthHeader, registryConfigHeader, resolveRegistryAuth, type AuthSources } from "./registry-auth.js";

const ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const noEcr: AuthSources["ecrToken"] = async () => {
  throw new Error("ECR must not be asked");
};

describe("headers", () => {
  it("encodes X-Registry-Auth as URL-safe base64 of the AuthConfig, and {} for an anonymous push", () => {
    const auth = { username: "AWS", password: "p+/w?>", serveraddress: ECR };
    const header = registryAuthHeader(auth);
    expect(header).not.toMatch(/[+/=]/);
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual(auth);
    expect(registryAuthHeader({} as never)).toBe("e30");
  });

  it("encodes X-Registry-Config as a map by registry", () => {
    const auth = { username: "u", password: "p", serveraddress: "r.example.com" };
    expect(JSON.parse(Buffer.from(registryConfigHeader([auth]), "base64").toString())).toEqual({ "r.example.com": auth });
  });
});

describe("logins", () => {
  it("decodes ECR's token", () => {
    expect(decodeEcrToken(Buffer.from("AWS:pass:with:colons").toString("base64"), ECR)).toEqual({ username: "AWS", password: "pass:with:colons", serveraddress: ECR });
    expect(() => decodeEcrToken(Buffer.from("nocolon").toString("base64"), ECR)).toThrow(/not 'user:password'/);
  });

  it("reads a plain credentials file or Docker's config.json shape", () => {
    expect(credentialsFromJson({ username: "u", password: "p" }, "r.io", "f.json")).toEqual({ username: "u", password: "p", serveraddress: "r.io" });
    const auth = Buffer.from("bob:s3cret").toString("base64");
    expect(credentialsFromJson({ auths: { "https://r.io/v2/": { auth } } }, "r.io", "f.json")).toMatchObject({ username: "bob", password: "s3cret" });
    expect(() => credentialsFromJson({ auths: { "other.io": { auth } } }, "r.io", "f.json")).toThrow(/f\.json has no entry for r\.io under 'auths'/);
    expect(() => credentialsFromJson({ user: "x" }, "r.io", "f.json")).toThrow(/holds no username and password/);
  });

  it("asks ECR for an ECR registry, and nothing for another one without credentials", async () => {
    const asked: string[] = [];
    const token = Buffer.from("AWS:tok").toString("base64");
    const sources: AuthSources = { env: {}, baseDir: "/p", ecrToken: async (region) => (asked.push(region), { token, endpoint: `https://${ECR}` }) };
    expect(await resolveRegistryAuth(ECR, undefined, sources)).toEqual({ username: "AWS", password: "tok", serveraddress: ECR });
    expect(asked).toEqual(["us-east-1"]);
    expect(await resolveRegistryAuth("127.0.0.1:5000", undefined, { ...sources, ecrToken: noEcr })).toBeNull();
  });

  it("takes build.registry_credentials from variables or a file next to ferry.yaml", async () => {
    const env = { REG_USER: "u", REG_PASS: "p" };
    const spec = { username_env: "REG_USER", password_env: "REG_PASS" };
    expect(await resolveRegistryAuth("r.io", spec, { env, baseDir: "/p", ecrToken: noEcr })).toEqual({ username: "u", password: "p", serveraddress: "r.io" });
    await expect(resolveRegistryAuth("r.io", spec, { env: {}, baseDir: "/p", ecrToken: noEcr })).rejects.toThrow(/REG_USER and REG_PASS are not set/);

    const read: string[] = [];
    const readText = async (path: string) => (read.push(path), '{"username": "f", "password": "g"}');
    expect(await resolveRegistryAuth("r.io", { file: "creds/reg.json" }, { env: {}, baseDir: "/p", ecrToken: noEcr, readText })).toMatchObject({ username: "f" });
    expect(read).toEqual(["/p/creds/reg.json"]);
    await expect(resolveRegistryAuth("r.io", { file: "x.json" }, { env: {}, baseDir: "/p", ecrToken: noEcr, readText: async () => "nope" })).rejects.toThrow(/\/p\/x\.json is not JSON/);
  });
});
