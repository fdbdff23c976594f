import { createHash } from "node:crypto";
import { BoundedMap } from "@ferry/provider-kit";
import { ModalClient } from "modal";
import type { ModalToken } from "./credentials.js";

/** What a Modal client is made from: a token (null: the SDK's own chain, ~/.modal.toml or MODAL_TOKEN_*) and an environment. */
export interface ModalClientSettings {
  token: ModalToken | null;
  /** Null: the token's profile's environment, else the workspace's default. */
  environment: string | null;
}

export type ModalClientFactory = (settings: ModalClientSettings) => ModalClient;

/**
 * The official SDK's client. The server it talks to is the SDK's own setting: `MODAL_SERVER_URL` (or
 * a profile's `server_url`), read by the SDK when a client is made; 0.11's `endpoint` option is
 * declared but not read.
 */
export const sdkClientFactory: ModalClientFactory = (settings) =>
  new ModalClient({
    ...(settings.token ? { tokenId: settings.token.tokenId, tokenSecret: settings.token.tokenSecret } : {}),
    ...(settings.environment ? { environment: settings.environment } : {}),
  });

/**
 * Clients are kept per token and environment: a ModalClient holds a gRPC channel and an auth token it
 * fetched, which every call would otherwise make again. The key holds a hash of the secret, never the
 * secret, and a rotated secret gets a new client.
 */
export function cachedClients(factory: ModalClientFactory, limit = 500): ModalClientFactory {
  const clients = new BoundedMap<string, ModalClient>(limit);
  return (settings) => {
    const secret = settings.token ? createHash("sha256").update(settings.token.tokenSecret).digest("hex").slice(0, 16) : "";
    const key = `${settings.token?.tokenId ?? "(sdk chain)"}|${secret}|${settings.environment ?? ""}`;
    return clients.getOrMake(key, () => factory(settings));
  };
}
