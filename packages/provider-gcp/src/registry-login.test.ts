import { describe, expect, it } from "vitest";
import { artifactRegistryLogin, isArtifactRegistryDockerHost } from "./registry-login.js";

describe("artifactRegistryLogin", () => {
  it("logs in as oauth2accesstoken with an access token of the user's identity", async () => {
    const login = artifactRegistryLogin({ tokens: { getAccessToken: async () => "ya29.token" } });
    expect(await login.login("us-central1-docker.pkg.dev", {})).toEqual({ username: "oauth2accesstoken", password: "ya29.token" });
  });

  it("names the fix when there are no credentials", async () => {
    const login = artifactRegistryLogin({ tokens: { getAccessToken: async () => Promise.reject(new Error("Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication")) } });
    await expect(login.login("us-central1-docker.pkg.dev", {})).rejects.toMatchObject({ code: "provider_auth", message: expect.stringMatching(/GOOGLE_APPLICATION_CREDENTIALS/) });
  });

  it.each([
    ["us-central1-docker.pkg.dev", true],
    ["asia-northeast1-docker.pkg.dev", true],
    ["us-docker.pkg.dev", true],
    ["docker.pkg.dev", false],
    ["gcr.io", false],
    ["evil.com/us-docker.pkg.dev", false],
  ])("%s is an Artifact Registry docker host: %s", (host, expected) => {
    expect(isArtifactRegistryDockerHost(host)).toBe(expected);
  });
});
