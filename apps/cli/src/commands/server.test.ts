import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readProfiles, writeProfiles } from "@ferry/client-node";
import { reachableUrl, saveLocalProfile } from "./server.js";

let path: string;
beforeEach(async () => {
  path = join(await mkdtemp(join(tmpdir(), "ferry-server-")), "profiles.json");
});
afterEach(async () => {
  await rm(join(path, ".."), { recursive: true, force: true });
});

const bootstrap = { workspaceId: "w", workspaceName: "default", apiKey: "fy_new" };

describe("saveLocalProfile", () => {
  it("saves URL, key and admin token of a new store and makes the profile active", async () => {
    expect(await saveLocalProfile(path, { url: "http://127.0.0.1:4200", adminToken: "fa_t", bootstrap })).toEqual({ active: true, hasKey: true });
    expect(await readProfiles(path)).toEqual({
      active: "local",
      profiles: { local: { api_url: "http://127.0.0.1:4200", admin_token: "fa_t", api_key: "fy_new" } },
    });
  });

  it("keeps the saved key when the store already existed, updating the URL", async () => {
    await writeProfiles(path, { active: "local", profiles: { local: { api_url: "http://127.0.0.1:1", api_key: "fy_old", admin_token: "fa_old" } } });
    await saveLocalProfile(path, { url: "http://127.0.0.1:2", adminToken: "fa_t", bootstrap: null });
    expect((await readProfiles(path)).profiles.local).toEqual({ api_url: "http://127.0.0.1:2", api_key: "fy_old", admin_token: "fa_t" });
  });

  it("replaces a key that belonged to a store that is gone", async () => {
    await writeProfiles(path, { active: "local", profiles: { local: { api_url: "http://127.0.0.1:1", api_key: "fy_old" } } });
    await saveLocalProfile(path, { url: "http://127.0.0.1:1", adminToken: "fa_t", bootstrap });
    expect((await readProfiles(path)).profiles.local!.api_key).toBe("fy_new");
  });

  it("leaves another active profile active, and says there is no key when there is none", async () => {
    await writeProfiles(path, { active: "cloud", profiles: { cloud: { api_url: "https://ferry.example.com", api_key: "fy_c" } } });
    expect(await saveLocalProfile(path, { url: "http://127.0.0.1:2", adminToken: "fa_t", bootstrap: null })).toEqual({ active: false, hasKey: false });
    expect((await readProfiles(path)).active).toBe("cloud");
  });
});

describe("reachableUrl", () => {
  it("reaches a server on every interface through loopback", () => {
    expect(reachableUrl("http://0.0.0.0:4200")).toBe("http://127.0.0.1:4200");
    expect(reachableUrl("http://[::]:4200")).toBe("http://[::1]:4200");
    expect(reachableUrl("http://10.0.0.5:4200/")).toBe("http://10.0.0.5:4200");
  });
});
