import { validateWithSchema, type FerryPlugin, type Provisioner } from "@ferry/core";
import { EcsProvider } from "./ecs-provider.js";

/** Options of the plugin, from FERRY_PROVIDER_OPTIONS["@ferry/provider-aws"]. */
export interface AwsPluginOptions {
  /**
   * One endpoint for every AWS service, e.g. a local stand-in (`http://127.0.0.1:4566`). Unset: AWS's
   * own endpoints for the region.
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

/** Provisioners of the package; filled in by createAwsPlugin's caller when the provisioning module is present. */
export function createAwsPlugin(provisioners: (options: AwsPluginOptions) => Provisioner[] = () => []): FerryPlugin {
  return {
    name: "@ferry/provider-aws",
    create(raw) {
      const options = parseAwsPluginOptions(raw);
      return {
        providers: [new EcsProvider(options.endpoint ? { endpoint: options.endpoint } : {})],
        provisioners: provisioners(options),
      };
    },
  };
}
