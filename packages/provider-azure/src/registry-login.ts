import type { TokenCredential } from "@azure/core-auth";
import type { RegistryLogin } from "@ferry/core";
import { pipelineOptions, type AzureEndpoints } from "./azure-clients.js";
import { createRestClient } from "./provisioning/graph.js";
import { call } from "./provisioning/session.js";

/** Azure Container Registry's login servers in Azure's clouds. */
const ACR_HOST = /^[a-z0-9]{5,50}\.azurecr\.(io|cn|us)$/i;

export function isAcrRegistry(registry: string): boolean {
  return ACR_HOST.test(registry);
}

/** The user name ACR gives a refresh token obtained by exchanging a Microsoft Entra token. */
export const ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

/**
 * The login `ferry deploy` uses to push an image to an Azure container registry: the user's own
 * Microsoft Entra token (DefaultAzureCredential) exchanged at the registry's `/oauth2/exchange` for an
 * ACR refresh token, which docker accepts as the password of the all-zero user (what `az acr login
 * --expose-token` does). The SDK is imported when a login is made, not when the plugin loads.
 */
export function acrRegistryLogin(
  options: AzureEndpoints & {
    credential?: TokenCredential;
    tenantId?: string;
    /** Where the registry's token exchange is (a stand-in); unset: https://<registry>. */
    registryEndpoint?: string;
  } = {},
): RegistryLogin {
  return {
    description: "Azure Container Registry",
    matches: (registry) => isAcrRegistry(registry),
    async login(registry, { signal }) {
      const credential =
        options.credential ??
        new (await import("@azure/identity")).DefaultAzureCredential({
          ...pipelineOptions(options),
          ...(options.tenantId ? { tenantId: options.tenantId } : {}),
          ...(options.authorityHost ? { authorityHost: options.authorityHost, disableInstanceDiscovery: true } : {}),
        });
      const armScope = `${(options.endpoint ?? "https://management.azure.com").replace(/\/+$/, "")}/.default`;
      const session = { attempts: 3, signal };
      const token = await call(session, `signing in to ${registry}`, async () => {
        const got = await credential.getToken(armScope, signal ? { abortSignal: signal } : {});
        if (!got?.token) throw new Error("no Microsoft Entra token for the registry login");
        return got.token;
      });
      // The exchange itself takes the token in its body, not as a bearer.
      const rest = await createRestClient(null, options, options.registryEndpoint ?? `https://${registry}`);
      const body = new URLSearchParams({ grant_type: "access_token", service: registry, access_token: token, ...(options.tenantId ? { tenant: options.tenantId } : {}) });
      const out = await call(session, `exchanging your token at ${registry}`, () => rest.postForm<{ refresh_token?: string }>("/oauth2/exchange", body.toString()));
      if (!out.refresh_token) throw new Error(`${registry} answered the token exchange without a refresh token`);
      return { username: ACR_TOKEN_USER, password: out.refresh_token };
    },
  };
}
