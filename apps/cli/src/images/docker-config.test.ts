import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authFromEntry, authFromHelperOutput, credentialHelperRunner, dockerConfigAuth, loginSource, registryHost, serverAddress } from "./docker-config.js";
import { resolveRegistryAuth } from "./registry-auth.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("loginSource", () => {
  const config = {
    auths: { "https://index.docker.io/v1/": { auth: b64("hub:pw") }, "r.example.com": { auth: b64("bob:pw") } },
    credHelpers: { "team.registry.example.net": "acme-login" },
    credsStore: "desktop",
  };
  it("prefers the registry's credHelpers entry, then credsStore, as Docker does", () => {
    expect(loginSource(config, "team.registry.example.net")).toEqual({ helper: "acme-login" });
    expect(loginSource(config, "r.example.com")).toEqual({ helper: "desktop" });
    expect(loginSource({ auths: config.auths }, "r.example.com")).toEqual({ entry: { auth: b64("bob:pw") } });
    expect(loginSource({ auths: config.auths }, "other.example.com")).toBeNull();
  });
  it("treats Docker Hub's names as one and gives helpers its v1 address", () => {
    expect(registryHost("docker.io")).toBe(registryHost("https://index.docker.io/v1/"));
    expect(serverAddress("docker.io")).toBe("https://index.docker.io/v1/");
    expect(serverAddress("https://r.example.com:5000/v2/")).toBe("r.example.com:5000");
    expect(loginSource({ auths: config.auths }, "docker.io")).toEqual({ entry: { auth: b64("hub:pw") } });
  });
});

describe("helper output and auths entries", () => {
  it("reads Username and Secret, and '<token>' as an identity token", () => {
    expect(authFromHelperOutput('{"ServerURL":"r.io","Username":"robot","Secret":"s"}', "r.io", "x")).toEqual({ username: "robot", password: "s", serveraddress: "r.io" });
    expect(authFromHelperOutput('{"Username":"<token>","Secret":"refresh"}', "r.io", "x")).toEqual({ username: "", password: "", identitytoken: "refresh", serveraddress: "r.io" });
    expect(() => authFromHelperOutput("nope", "r.io", "x")).toThrow(/docker-credential-x printed something that is not JSON/);
    expect(() => authFromHelperOutput('{"Username":"u"}', "r.io", "x")).toThrow(/no secret for r\.io; log in again with 'docker login r\.io'/);
  });
  it("reads auth, username/password and identitytoken entries", () => {
    expect(authFromEntry({ auth: b64("u:p:q") }, "r.io")).toEqual({ username: "u", password: "p:q", serveraddress: "r.io" });
    expect(authFromEntry({ identitytoken: "t" }, "r.io")).toMatchObject({ identitytoken: "t" });
    expect(authFromEntry({}, "r.io")).toBeNull();
  });
});

describe("a real credential helper", () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ferry-docker-config-"));
    await mkdir(join(dir, "bin"));
    await mkdir(join(dir, "home", ".docker"), { recursive: true });
    // Like docker-credential-helpers: the server address on stdin, JSON out, exit 1 when it has no login.
    const helper = `#!/bin/sh
[ "$1" = get ] || exit 2
read server
echo "$server" >> "${dir}/asked"
case "$server" in
  r.example.com) echo '{"ServerURL":"r.example.com","Username":"robot","Secret":"from-helper"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"hub-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
    await writeFile(join(dir, "bin", "docker-credential-ferrytest"), helper);
    await chmod(join(dir, "bin", "docker-credential-ferrytest"), 0o755);
    env = { PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}`, HOME: join(dir, "home") };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs docker-credential-<name> get with the server on stdin, as Docker does", async () => {
    const run = credentialHelperRunner(env);
    const config = { credsStore: "ferrytest", auths: { "fallback.example.com": { auth: b64("file:pw") } } };
    expect(await dockerConfigAuth(config, "r.example.com", run)).toEqual({
      auth: { username: "robot", password: "from-helper", serveraddress: "r.example.com" },
      from: "docker-credential-ferrytest",
    });
    expect((await dockerConfigAuth(config, "docker.io", run))?.auth).toMatchObject({ identitytoken: "hub-token", serveraddress: "https://index.docker.io/v1/" });
    // The store has no login for it: Docker's auths entry is used.
    expect((await dockerConfigAuth(config, "fallback.example.com", run))?.auth).toMatchObject({ username: "file", password: "pw" });
    expect(await dockerConfigAuth(config, "none.example.com", run)).toBeNull();
    expect(await readFile(join(dir, "asked"), "utf8")).toContain("r.example.com\n");
  });

  it("names a missing helper and how to fix it", async () => {
    const run = credentialHelperRunner(env);
    await expect(dockerConfigAuth({ credHelpers: { "r.example.com": "absent" } }, "r.example.com", run)).rejects.toThrow(
      /credential helper 'absent', but docker-credential-absent is not on PATH/,
    );
    await expect(run("../evil", "r.example.com")).rejects.toThrow(/is not valid/);
  });

  it("is what a push uses when ferry.yaml and the providers give no login", async () => {
    await writeFile(join(dir, "home", ".docker", "config.json"), JSON.stringify({ credHelpers: { "r.example.com": "ferrytest" } }));
    const resolved = await resolveRegistryAuth("r.example.com", undefined, { env, baseDir: dir, registryLogin: async () => null });
    expect(resolved?.auth).toEqual({ username: "robot", password: "from-helper", serveraddress: "r.example.com" });
    expect(resolved?.from).toMatch(/^docker-credential-ferrytest \(.*config\.json\)$/);
    expect(await resolveRegistryAuth("other.example.com", undefined, { env, baseDir: dir, registryLogin: async () => null })).toBeNull();
  });

  it("asks the helper of a Docker config given as build.registry_credentials.file", async () => {
    await writeFile(join(dir, "creds.json"), JSON.stringify({ credsStore: "ferrytest" }));
    const resolved = await resolveRegistryAuth("r.example.com", { file: "creds.json" }, { env: { PATH: env.PATH! }, baseDir: dir, registryLogin: async () => null });
    expect(resolved).toEqual({ auth: { username: "robot", password: "from-helper", serveraddress: "r.example.com" }, from: "build.registry_credentials (docker-credential-ferrytest)" });
  });
});
