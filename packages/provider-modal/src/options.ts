import { validateWithSchema } from "@ferry/core";

/** Options of both plugins, from FERRY_PROVIDER_OPTIONS["@ferry/provider-modal"]. */
export interface ModalPluginOptions {
  /**
   * Where Modal's API is, e.g. a local stand-in (`http://127.0.0.1:50051`; `http://` is plaintext gRPC).
   * Unset: the SDK's own setting (MODAL_SERVER_URL, a profile's server_url), else Modal.
   */
  server_url?: string;
  /** Attempts per Modal call (the kit's retries); default 3. */
  attempts?: number;
}

const OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    server_url: { type: "string", pattern: "^https?://[^\\s/]+/?$", description: "http(s) URL of Modal's API (a local stand-in)" },
    attempts: { type: "integer", minimum: 1, maximum: 10, description: "attempts per Modal call (the SDK retries failed connections on its own too)" },
  },
};

export function parseModalPluginOptions(options: unknown): ModalPluginOptions {
  return validateWithSchema<ModalPluginOptions>(OPTIONS_SCHEMA, options ?? {}, "options of @ferry/provider-modal");
}
