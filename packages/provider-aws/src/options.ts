import { validateWithSchema } from "@ferry/core";

/** Options of both plugins, from FERRY_PROVIDER_OPTIONS["@ferry/provider-aws"] (the server's, or the client's environment). */
export interface AwsPluginOptions {
  /**
   * One endpoint for every AWS service, e.g. a local stand-in (`http://127.0.0.1:4566`). Unset: AWS's
   * own endpoints for the region (or AWS_ENDPOINT_URL, which the SDK reads itself).
   */
  endpoint?: string;
}

const OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    endpoint: { type: "string", pattern: "^https?://[^\\s/]+(/.*)?$", description: "http(s) URL every AWS client is sent to" },
  },
};

export function parseAwsPluginOptions(options: unknown): AwsPluginOptions {
  return validateWithSchema<AwsPluginOptions>(OPTIONS_SCHEMA, options ?? {}, "options of @ferry/provider-aws");
}
