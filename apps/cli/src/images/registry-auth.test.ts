import { describe, expect, it } from "vitest";
import { FerryError, isFerryError, type RegistryLogin } from "@ferry/core";
import { credentialsFromJson, registryAuthHeader, registryConfigHeader, resolveRegistryAuth, type AuthSources } from "./registry-auth.js";

const CLOUD = "team.registry.example.com";
const noLogin: AuthSources["registryLogin"] = async () => {
  throw new Error("the providers' registry logins must not be asked");
};

/** A provider's registry login for *.registry.example.com that records what it was asked. */
function fakeLogin(outcome: { password: string } | { error: Error } = { password: "tok" }): RegistryLogin & { asked: string[] } {
  const asked: string[] = [];
  return {
    description: "Acme registry",
    asked,
    matches: (registry) => registry.endsWith(".registry.example.com"),
    login: async (registry) => {
      asked.push(registry);
      if ("error" in outcome) throw outcome.error;
      return { username: "acme", password: outcome.password };
    },
  };
}

/** What the deploy command hands in: the login of the first plugin that matches, like ClientPlugins.registryLogin. */
const logins = (...all: RegistryLogin[]): AuthSources["registryLogin"] => async (registry) => all.find((l) => l.matches(registry)) ?? null;

describe("headers", () => {
  it("encodes X-Registry-Auth as URL-safe base64 of the AuthConfig, and {} for an anonymous push", () => {
    const auth = { username: "acme", password: "p+/w?>", serveraddress: CLOUD };
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
  it("reads a plain credentials file or Docker's config.json shape", () => {
    expect(credentialsFromJson({ username: "u", password: "p" }, "r.io", "f.json")).toEqual({ username: "u", password: "p", serveraddress: "r.io" });
    const auth = Buffer.from("bob:s3cret").toString("base64");
    expect(credentialsFromJson({ auths: { "https://r.io/v2/": { auth } } }, "r.io", "f.json")).toMatchObject({ username: "bob", password: "s3cret" });
    expect(() => credentialsFromJson({ auths: { "other.io": { auth } } }, "r.io", "f.json")).toThrow(/f\.json has no entry for r\.io under 'auths'/);
    expect(() => credentialsFromJson({ user: "x" }, "r.io", "f.json")).toThrow(/holds no username and password/);
  });

  it("logs in with the provider's registry login that serves the registry, and anonymously elsewhere", async () => {
    const login = fakeLogin();
    const sources: AuthSources = { env: {}, baseDir: "/p", registryLogin: logins(login) };
    expect(await resolveRegistryAuth(CLOUD, undefined, sources)).toEqual({ auth: { username: "acme", password: "tok", serveraddress: CLOUD }, from: "Acme registry" });
    expect(login.asked).toEqual([CLOUD]);
    expect(await resolveRegistryAuth("127.0.0.1:5000", undefined, sources)).toBeNull();
    expect(await resolveRegistryAuth(null, undefined, { ...sources, registryLogin: noLogin })).toBeNull();
    expect(login.asked).toEqual([CLOUD]);
  });

  it("prefers build.registry_credentials over a provider's login, as ferry.yaml says so", async () => {
    const login = fakeLogin();
    const spec = { username_env: "REG_USER", password_env: "REG_PASS" };
    const found = await resolveRegistryAuth(CLOUD, spec, { env: { REG_USER: "u", REG_PASS: "p" }, baseDir: "/p", registryLogin: logins(login) });
    expect(found).toEqual({ auth: { username: "u", password: "p", serveraddress: CLOUD }, from: "build.registry_credentials" });
    expect(login.asked).toEqual([]);
  });

  it("names the registry and the login when the login fails, keeping the provider's code", async () => {
    const denied = fakeLogin({ error: new FerryError("provider_auth", "the identity of this shell may not read the registry's token") });
    const error = await resolveRegistryAuth(CLOUD, undefined, { env: {}, baseDir: "/p", registryLogin: logins(denied) }).catch((e: unknown) => e);
    expect(isFerryError(error, "provider_auth")).toBe(true);
    expect((error as Error).message).toBe(`cannot log in to ${CLOUD} (Acme registry): the identity of this shell may not read the registry's token`);
    const crashed = fakeLogin({ error: new Error("socket hang up") });
    expect(isFerryError(await resolveRegistryAuth(CLOUD, undefined, { env: {}, baseDir: "/p", registryLogin: logins(crashed) }).catch((e: unknown) => e), "provider_auth")).toBe(true);
  });

  it("takes build.registry_credentials from variables or a file next to ferry.yaml", async () => {
    const env = { REG_USER: "u", REG_PASS: "p" };
    const spec = { username_env: "REG_USER", password_env: "REG_PASS" };
    expect(await resolveRegistryAuth("r.io", spec, { env, baseDir: "/p", registryLogin: noLogin })).toEqual({ auth: { username: "u", password: "p", serveraddress: "r.io" }, from: "build.registry_credentials" });
    await expect(resolveRegistryAuth("r.io", spec, { env: {}, baseDir: "/p", registryLogin: noLogin })).rejects.toThrow(/REG_USER and REG_PASS are not set/);

    const read: string[] = [];
    const readText = async (path: string) => (read.push(path), '{"username": "f", "password": "g"}');
    expect(await resolveRegistryAuth("r.io", { file: "creds/reg.json" }, { env: {}, baseDir: "/p", registryLogin: noLogin, readText })).toMatchObject({ auth: { username: "f" } });
    expect(read).toEqual(["/p/creds/reg.json"]);
    await expect(resolveRegistryAuth("r.io", { file: "x.json" }, { env: {}, baseDir: "/p", registryLogin: noLogin, readText: async () => "nope" })).rejects.toThrow(/\/p\/x\.json is not JSON/);
  });
});
