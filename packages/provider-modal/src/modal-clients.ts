import { createHash } from "node:crypto";
import { BoundedMap, type ProviderLogger } from "@ferry/provider-kit";
import { ModalClient, type Logger } from "modal";
import type { ModalToken } from "./credentials.js";

/** What a Modal client is made from: a token (null: the SDK's own chain, ~/.modal.toml or MODAL_TOKEN_*) and an environment. */
export interface ModalClientSettings {
  token: ModalToken | null;
  /** Null: the token's profile's environment, else the workspace's default. */
  environment: string | null;
}

export type ModalClientFactory = (settings: ModalClientSettings) => ModalClient;

/**
 * The official SDK's clients, sent to `serverUrl` when given (a local stand-in), else where the SDK's
 * own configuration says (`MODAL_SERVER_URL`, a profile's `server_url`, else Modal). SDK 0.11 reads the
 * URL only from MODAL_SERVER_URL when a client is made (its `endpoint` param is declared, never read),
 * so the variable is set for the constructor alone, which is synchronous.
 */
export function sdkClients(serverUrl?: string, logger?: ProviderLogger): ModalClientFactory {
  const sdkLogger = logger ? toSdkLogger(logger) : undefined;
  return (settings) => {
    const params = {
      ...(sdkLogger ? { logger: sdkLogger } : {}),
      ...(settings.token ? { tokenId: settings.token.tokenId, tokenSecret: settings.token.tokenSecret } : {}),
      ...(settings.environment ? { environment: settings.environment } : {}),
    };
    if (!serverUrl) return new ModalClient(params);
    const saved = process.env.MODAL_SERVER_URL;
    process.env.MODAL_SERVER_URL = serverUrl;
    try {
      return new ModalClient(params);
    } finally {
      if (saved === undefined) delete process.env.MODAL_SERVER_URL;
      else process.env.MODAL_SERVER_URL = saved;
    }
  };
}

/** The SDK's own configuration decides the server. */
export const sdkClientFactory: ModalClientFactory = sdkClients();

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

/** The SDK logs `(message, key, value, key, value…)`; the provider's logger takes pino's `(object, message)`. */
export function toSdkLogger(logger: ProviderLogger): Logger {
  const fields = (args: unknown[]) => {
    const out: Record<string, unknown> = { source: "modal-sdk" };
    for (let i = 0; i + 1 < args.length; i += 2) out[String(args[i])] = args[i + 1];
    return out;
  };
  return {
    debug: (message, ...args) => logger.debug(fields(args), message),
    info: (message, ...args) => logger.debug(fields(args), message),
    warn: (message, ...args) => logger.warn(fields(args), message),
    error: (message, ...args) => logger.warn(fields(args), message),
  };
}
