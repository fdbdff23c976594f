import { validateWithSchema } from "@ferry/core";

/** Options of both plugins, from FERRY_PROVIDER_OPTIONS["@ferry/provider-modal"]. */
export interface ModalPluginOptions {
  /** Attempts per Modal call (the kit's retries); default 3. */
  attempts?: number;
}

const OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    attempts: { type: "integer", minimum: 1, maximum: 10, description: "attempts per Modal call (the SDK retries failed connections on its own too)" },
  },
};

export function parseModalPluginOptions(options: unknown): ModalPluginOptions {
  return validateWithSchema<ModalPluginOptions>(OPTIONS_SCHEMA, options ?? {}, "options of @ferry/provider-modal");
}
