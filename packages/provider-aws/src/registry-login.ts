import type { ECRClientConfig } from "@aws-sdk/client-ecr";
import type { RegistryLogin } from "@ferry/core";
import { withRetries } from "@ferry/provider-kit";
import { decodeEcrToken, ecrRegion, isEcrRegistry } from "./ecr.js";
import { classifyAwsError } from "./errors.js";

/**
 * The login `ferry deploy` uses to push an image to an ECR registry: GetAuthorizationToken in the
 * registry's region with the user's own identity (the SDK's default chain). The SDK is imported when a
 * login is made, not when the plugin loads.
 */
export function ecrRegistryLogin(options: { endpoint?: string; credentials?: ECRClientConfig["credentials"] } = {}): RegistryLogin {
  return {
    description: "Amazon ECR",
    matches: (registry) => isEcrRegistry(registry),
    async login(registry, { signal }) {
      const region = ecrRegion(registry);
      if (!region) throw new Error(`${registry} is not an ECR registry`);
      const [{ ECRClient, GetAuthorizationTokenCommand }, { fromNodeProviderChain }] = await Promise.all([import("@aws-sdk/client-ecr"), import("@aws-sdk/credential-providers")]);
      const client = new ECRClient({
        region,
        maxAttempts: 1,
        credentials: options.credentials ?? fromNodeProviderChain(),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
      try {
        const out = await withRetries(() => client.send(new GetAuthorizationTokenCommand({}), signal ? { abortSignal: signal } : {}), {
          signal,
          classify: (error) => classifyAwsError(error, { identity: "user", action: "ecr:GetAuthorizationToken", target: `a login to ${registry}` }),
        });
        const token = out.authorizationData?.[0]?.authorizationToken;
        if (!token) throw classifyAwsError(new Error("ecr:GetAuthorizationToken returned no token"), { identity: "user", action: "ecr:GetAuthorizationToken" });
        return decodeEcrToken(token);
      } finally {
        client.destroy();
      }
    },
  };
}
