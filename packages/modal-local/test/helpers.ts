import { ModalClient } from "modal";
import type { ModalLocal } from "../src/index.js";

/**
 * The official SDK pointed at a local server. The SDK 0.11 reads the server URL only from
 * MODAL_SERVER_URL (or a profile's `server_url`), each time a client is made; its `endpoint` param is
 * not used. `sandboxV2: false` makes it use the V1 sandbox RPCs, as it does for GPU sandboxes.
 */
export function modalClient(local: ModalLocal, options: { token?: { tokenId: string; tokenSecret: string }; sandboxV2?: boolean; environment?: string } = {}): ModalClient {
  const saved = { url: process.env.MODAL_SERVER_URL, v2: process.env.MODAL_SANDBOX_V2 };
  process.env.MODAL_SERVER_URL = local.url;
  process.env.MODAL_SANDBOX_V2 = options.sandboxV2 === false ? "0" : "1";
  try {
    const token = options.token ?? local.token;
    return new ModalClient({ tokenId: token.tokenId, tokenSecret: token.tokenSecret, logLevel: "error", ...(options.environment === undefined ? {} : { environment: options.environment }) });
  } finally {
    restore("MODAL_SERVER_URL", saved.url);
    restore("MODAL_SANDBOX_V2", saved.v2);
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
