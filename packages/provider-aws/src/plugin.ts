import { DEFAULT_PLUGIN_CONTEXT, type FerryPlugin } from "@ferry/core";
import { AWS_CREDENTIAL_TYPE } from "./credentials.js";
import { EcsProvider } from "./ecs-provider.js";
import { parseAwsPluginOptions } from "./options.js";
import { S3_SOURCE_STORE } from "./s3-source.js";

/** The server's plugin: FERRY_PROVIDERS=@ferry/provider-aws registers `ecs:push` and the `aws` credentials type. */
export const awsPlugin: FerryPlugin = {
  name: "@ferry/provider-aws",
  create(raw, context = DEFAULT_PLUGIN_CONTEXT) {
    const options = parseAwsPluginOptions(raw);
    return {
      providers: [
        new EcsProvider({
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          allowAmbientCredentials: context.allowAmbientCredentials,
          logger: context.logger,
        }),
      ],
      credentialTypes: [AWS_CREDENTIAL_TYPE],
      sourceStores: [S3_SOURCE_STORE],
    };
  },
};
