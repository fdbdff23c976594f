import type { ArmState } from "./arm-state.js";
import { isAllowed } from "./authorization.js";

/** A container group's registry credentials, as PUT: a login server with an identity, or a user name and password. */
export interface RegistryCredential {
  server: string;
  identity?: string;
  username?: string;
  password?: string;
}

/** The registry host of an image reference (`myacr.azurecr.io/flows/x:1` → `myacr.azurecr.io`), or null for a Docker Hub-style name. */
export function imageRegistry(image: string): string | null {
  const first = image.split("/")[0]!;
  if (!image.includes("/")) return null;
  return first.includes(".") || first.includes(":") || first === "localhost" ? first.toLowerCase() : null;
}

/**
 * Why pulling `image` from one of the subscription's registries would be refused (401), or null when
 * the image is not in one of them or the group may pull it: through a user-assigned identity of the
 * group with AcrPull (or more) on the registry, or the registry's admin user name and password.
 */
export function pullRefusal(arm: ArmState, image: string, credentials: readonly RegistryCredential[], groupIdentities: readonly string[]): string | null {
  const host = imageRegistry(image);
  if (host === null) return null;
  const registries = arm.list("/subscriptions/", "Microsoft.ContainerRegistry/registries").filter((r) => String(r.properties["loginServer"]).toLowerCase() === host);
  if (registries.length === 0) return null;
  const credential = credentials.find((c) => c.server.toLowerCase() === host);
  const unauthorized = `failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://${host}/oauth2/token: 401 Unauthorized`;
  if (credential === undefined) return `${unauthorized} (the container group has no imageRegistryCredentials for ${host})`;
  if (credential.identity !== undefined) {
    const identityId = credential.identity.toLowerCase();
    if (!groupIdentities.some((id) => id.toLowerCase() === identityId)) return `${unauthorized} (the identity ${credential.identity} is not one of the container group's user-assigned identities)`;
    const identity = arm.resources.get(identityId);
    const principalId = identity?.properties["principalId"];
    if (typeof principalId !== "string") return `${unauthorized} (the identity ${credential.identity} does not exist)`;
    const allowed = registries.some((r) => isAllowed(arm.grants(), principalId, "Microsoft.ContainerRegistry/registries/pull/read", r.id));
    return allowed ? null : `${unauthorized} (the identity ${credential.identity} has no AcrPull role on the registry)`;
  }
  const admin = registries.find((r) => r.properties["adminUserEnabled"] === true && r.name.toLowerCase() === (credential.username ?? "").toLowerCase());
  const passwords = admin === undefined ? [] : (arm.registryPasswords.get(admin.id.toLowerCase()) ?? []);
  return credential.password !== undefined && passwords.includes(credential.password) ? null : `${unauthorized} (wrong user name or password for ${host})`;
}
