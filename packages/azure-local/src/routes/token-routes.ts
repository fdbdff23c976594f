import type { ServerContext } from "./context.js";
import { isAllowed } from "../authorization.js";
import type { TokenIssuer } from "../tokens.js";

export interface RawAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The Entra endpoints `@azure/identity` (MSAL) calls: OpenID configuration, instance discovery, and the token endpoint (client credentials). */
export function handleEntra(context: ServerContext, tokens: TokenIssuer, baseUrl: string, method: string, path: string, body: string): { operation: string; answer: RawAnswer; principal?: { appId: string; name: string } } | null {
  const openid = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/i.exec(path);
  if (method === "GET" && openid !== null) {
    const tenant = openid[1]!;
    const tenantId = tenant.toLowerCase() === "organizations" || tenant.toLowerCase() === "common" ? context.tenantId : tenant;
    return {
      operation: "OpenIdConfiguration",
      answer: {
        status: 200,
        body: {
          token_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/token`,
          authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/authorize`,
          device_authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/devicecode`,
          end_session_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/logout`,
          jwks_uri: `${baseUrl}/${tenant}/discovery/v2.0/keys`,
          issuer: `${baseUrl}/${tenantId}/v2.0`,
          token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
          response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
          scopes_supported: ["openid", "profile", "email", "offline_access"],
          subject_types_supported: ["pairwise"],
          id_token_signing_alg_values_supported: ["RS256"],
          tenant_region_scope: "EU",
          cloud_instance_name: "azure-local",
        },
      },
    };
  }
  if (method === "GET" && /^\/common\/discovery\/instance$/i.test(path)) {
    return { operation: "InstanceDiscovery", answer: { status: 200, body: { tenant_discovery_endpoint: `${baseUrl}/${context.tenantId}/v2.0/.well-known/openid-configuration`, "api-version": "1.1", metadata: [] } } };
  }
  const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/i.exec(path);
  if (method === "POST" && token !== null) {
    const form = new URLSearchParams(body);
    const error = (status: number, code: string, description: string): RawAnswer => ({ status, body: { error: code, error_description: description, error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)], timestamp: new Date(context.now()).toISOString() } });
    const tenant = token[1]!;
    if (tenant.toLowerCase() !== context.tenantId.toLowerCase() && tenant.toLowerCase() !== "organizations") {
      return { operation: "Token", answer: error(400, "invalid_tenant", `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`) };
    }
    if (form.get("grant_type") !== "client_credentials") {
      return { operation: "Token", answer: error(400, "unsupported_grant_type", `AADSTS70003: azure-local supports only the client_credentials grant, not '${form.get("grant_type") ?? ""}'.`) };
    }
    const clientId = form.get("client_id") ?? "";
    const signedIn = context.directory.authenticate(context.tenantId, clientId, form.get("client_secret") ?? "");
    if ("error" in signedIn) return { operation: "Token", answer: error(401, signedIn.error, signedIn.description) };
    const scope = form.get("scope") ?? "";
    const aud = scope.split(" ").find((s) => s.endsWith("/.default"))?.replace(/\/\.default$/, "") ?? scope;
    const issued = tokens.issue({ oid: signedIn.id, appid: signedIn.appId, tid: context.tenantId, aud });
    return {
      operation: "Token",
      principal: { appId: signedIn.appId, name: signedIn.displayName },
      answer: { status: 200, body: { token_type: "Bearer", expires_in: issued.expiresIn, ext_expires_in: issued.expiresIn, access_token: issued.token } },
    };
  }
  return null;
}

/**
 * A registry's token exchange (`POST /oauth2/exchange`, what `az acr login` does): an ARM access token
 * of a principal allowed to push to the registry whose login server is `service` becomes a refresh
 * token, docker's password for the user `00000000-0000-0000-0000-000000000000`. Served here so a
 * registry login can be tested with the registry's login server set to this server.
 */
export function handleRegistryExchange(context: ServerContext, tokens: TokenIssuer, method: string, path: string, body: string): { operation: string; answer: RawAnswer; principal?: { appId: string; name: string } } | null {
  if (method !== "POST" || !/^\/oauth2\/exchange$/i.test(path)) return null;
  const form = new URLSearchParams(body);
  const refuse = (status: number, message: string): RawAnswer => ({ status, body: { errors: [{ code: "UNAUTHORIZED", message }] } });
  const operation = "Registry_ExchangeToken";
  if (form.get("grant_type") !== "access_token") return { operation, answer: refuse(400, `grant_type must be access_token, not '${form.get("grant_type") ?? ""}'`) };
  const service = (form.get("service") ?? "").toLowerCase();
  const claims = tokens.verify(form.get("access_token") ?? "");
  const sp = claims === null ? undefined : context.directory.servicePrincipals.get(claims.oid);
  if (sp === undefined) return { operation, answer: refuse(401, "the access token is missing, invalid or expired") };
  const principal = { appId: sp.appId, name: sp.displayName };
  const registries = context.arm.list("/subscriptions/", "Microsoft.ContainerRegistry/registries").filter((r) => String(r.properties["loginServer"]).toLowerCase() === service);
  if (registries.length === 0) return { operation, principal, answer: refuse(404, `no registry with the login server '${service}' in subscription ${context.subscriptionId}`) };
  const allowed = registries.some((r) => isAllowed(context.arm.grants(), sp.id, "Microsoft.ContainerRegistry/registries/push/write", r.id));
  if (!allowed) return { operation, principal, answer: refuse(401, `the principal ${sp.appId} may not push to ${service}: it needs AcrPush, Contributor or Owner on the registry`) };
  const refresh = tokens.issue({ oid: sp.id, appid: sp.appId, tid: context.tenantId, aud: service });
  return { operation, principal, answer: { status: 200, body: { refresh_token: refresh.token } } };
}
