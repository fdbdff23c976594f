import { mkdtemp, readFile, rm, stat, writeFile, chmod, mkdir, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assertProviderModules, emptyProfiles, ferryHome, readProfiles, resolveSettings, updateProfiles, writeProfiles, type ProfilesFile } from "./profiles.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-profiles-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FILE: ProfilesFile = {
  active: "local",
  profiles: {
    local: { api_url: "http://127.0.0.1:4200", api_key: "fy_localkey0000000000000000", admin_token: "fa_admintoken000000000000000" },
    cloud: { api_url: "https://ferry.example.com", api_key: "fy_cloudkey0000000000000000" },
  },
};

describe("profile file", () => {
  it("reads a missing file as empty", async () => {
    expect(await readProfiles(join(dir, "nope", "profiles.json"))).toEqual(emptyProfiles());
  });

  it("writes the file 0600 in a 0700 directory, and reads it back", async () => {
    const path = join(dir, "home", "profiles.json");
    await writeProfiles(path, FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "home"))).mode & 0o777).toBe(0o700);
    expect(await readProfiles(path)).toEqual(FILE);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual(FILE);
    expect(await readdir(join(dir, "home"))).toEqual(["profiles.json"]);
  });

  it("tightens a file and directory that were readable by others", async () => {
    const home = join(dir, "open");
    await mkdir(home, { mode: 0o755 });
    await chmod(home, 0o755);
    const path = join(home, "profiles.json");
    await writeFile(path, "{}", { mode: 0o644 });
    await updateProfiles(path, (f) => {
      f.profiles.x = { api_url: "http://x" };
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
  });

  it("names the file when it is damaged", async () => {
    const path = join(dir, "profiles.json");
    await writeFile(path, "{not json");
    await expect(readProfiles(path)).rejects.toThrow(`${path} is not a valid profiles file`);
    await writeFile(path, JSON.stringify({ profiles: { a: { api_key: 42 } } }));
    await expect(readProfiles(path)).rejects.toThrow("profiles.a.api_key must be a string");
  });

  it("keeps a profile's providers, a list of package names", async () => {
    const path = join(dir, "profiles.json");
    await writeProfiles(path, { active: "local", profiles: { local: { api_url: "http://x", providers: ["@acme/ferry-provider", "beta-provider"] } } });
    expect((await readProfiles(path)).profiles.local!.providers).toEqual(["@acme/ferry-provider", "beta-provider"]);
    expect(resolveSettings({ apiUrl: "http://elsewhere" }, {}, await readProfiles(path), dir).providers).toEqual(["@acme/ferry-provider", "beta-provider"]);
    expect(resolveSettings({}, {}, FILE, dir).providers).toEqual([]);
    await writeFile(path, JSON.stringify({ profiles: { a: { providers: "@acme/ferry-provider" } } }));
    await expect(readProfiles(path)).rejects.toThrow("profiles.a.providers must be a list of module names");
    expect(assertProviderModules(["@acme/p", "b", "@acme/p"])).toEqual(["@acme/p", "b"]);
    expect(() => assertProviderModules(["@acme/p,b", "ok"])).toThrow(/'@acme\/p,b' is not a package name/);
  });

  it("defaults FERRY_HOME to ~/.ferry", () => {
    expect(ferryHome({ FERRY_HOME: "/x" })).toBe("/x");
    expect(ferryHome({})).toMatch(/\.ferry$/);
  });
});

describe("resolveSettings", () => {
  it("uses the active profile", () => {
    const s = resolveSettings({}, {}, FILE, "/h");
    expect(s).toMatchObject({
      profileName: "local",
      apiUrl: "http://127.0.0.1:4200",
      apiKey: "fy_localkey0000000000000000",
      adminToken: "fa_admintoken000000000000000",
      sources: { apiUrl: "profile", apiKey: "profile", adminToken: "profile" },
      profilesPath: "/h/profiles.json",
    });
  });

  it("lets flags win over the environment, and the environment over the file", () => {
    expect(resolveSettings({}, { FERRY_PROFILE: "cloud" }, FILE, "/h").apiKey).toBe("fy_cloudkey0000000000000000");
    expect(resolveSettings({ profile: "local" }, { FERRY_PROFILE: "cloud" }, FILE, "/h").profileName).toBe("local");
    const env = { FERRY_API_KEY: "fy_envkey", FERRY_API_URL: "http://127.0.0.1:4200/" };
    expect(resolveSettings({}, env, FILE, "/h")).toMatchObject({ apiKey: "fy_envkey", sources: { apiUrl: "env", apiKey: "env" } });
    expect(resolveSettings({ apiKey: "fy_flag", apiUrl: "http://127.0.0.1:4200" }, env, FILE, "/h")).toMatchObject({
      apiKey: "fy_flag",
      apiUrl: "http://127.0.0.1:4200",
      sources: { apiUrl: "flag", apiKey: "flag" },
    });
  });

  it("never sends a profile's secrets to another server", () => {
    const s = resolveSettings({ apiUrl: "https://evil.example" }, {}, FILE, "/h");
    expect(s).toMatchObject({ apiUrl: "https://evil.example", apiKey: null, adminToken: null });
    // The same server, written with a trailing slash, still gets them.
    expect(resolveSettings({ apiUrl: "http://127.0.0.1:4200/" }, {}, FILE, "/h").apiKey).toBe("fy_localkey0000000000000000");
  });

  it("refuses a profile that was asked for and does not exist", () => {
    expect(() => resolveSettings({ profile: "nope" }, {}, FILE, "/h")).toThrow(/profile 'nope' does not exist \(profiles: local, cloud\)/);
    expect(resolveSettings({}, {}, { active: "gone", profiles: {} }, "/h")).toMatchObject({ profileName: null, apiUrl: null });
  });
});
