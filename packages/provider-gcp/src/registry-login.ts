import type { RegistryLogin } from "@ferry/core";
import { withRetries } from "@ferry/provider-kit";
import { classifyGcpError } from "./errors.js";

/** Artifact Registry's docker hosts: `REGION-docker.pkg.dev`. */
export function isArtifactRegistryDockerHost(host: string): boolean {
  return /^[a-z0-9]+(-[a-z0-9]+)*-docker\.pkg\.dev$/.test(host);
}

/** What the login needs of google-auth-library: an access token of the user's identity. */
export interface AccessTokenSource {
  getAccessToken(): Promise<string | null | undefined>;
}

async function applicationDefaultToken(): Promise<string | null | undefined> {
  const { GoogleAuth } = await import("google-auth-library");
  return new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }).getAccessToken();
}

/**
 * The login `ferry deploy` uses to push an image to Artifact Registry: Google's documented docker
 * login, user `oauth2accesstoken` with an access token of the user's application default credentials.
 * google-auth-library is imported when a login is made, not when the plugin loads.
 */
export function artifactRegistryLogin(options: { tokens?: AccessTokenSource } = {}): RegistryLogin {
  return {
    description: "Google Artifact Registry",
    matches: (registry) => isArtifactRegistryDockerHost(registry),
    async login(registry, { signal }) {
      const token = await withRetries(() => (options.tokens ? options.tokens.getAccessToken() : applicationDefaultToken()), {
        signal,
        classify: (error) => classifyGcpError(error, { identity: "user", operation: "a login", target: registry }),
      });
      if (!token) throw classifyGcpError(new Error("google-auth-library gave no access token"), { identity: "user", operation: "a login", target: registry });
      return { username: "oauth2accesstoken", password: token };
    },
  };
}
