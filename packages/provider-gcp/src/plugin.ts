import { DEFAULT_PLUGIN_CONTEXT, type FerryPlugin } from "@ferry/core";
import { CloudRunProvider } from "./cloud-run-provider.js";
import { GCP_CREDENTIAL_TYPE } from "./credentials.js";
import { GCS_SOURCE_STORE } from "./gcs-source.js";
import { parseGcpPluginOptions } from "./options.js";

/** The server's plugin: FERRY_PROVIDERS=@ferry/provider-gcp registers `cloud-run:push` and the `gcp` credentials type. */
export const gcpPlugin: FerryPlugin = {
  name: "@ferry/provider-gcp",
  create(raw, context = DEFAULT_PLUGIN_CONTEXT) {
    const options = parseGcpPluginOptions(raw);
    return {
      providers: [new CloudRunProvider({ ...options, allowAmbientCredentials: context.allowAmbientCredentials, logger: context.logger })],
      credentialTypes: [GCP_CREDENTIAL_TYPE],
      sourceStores: [GCS_SOURCE_STORE],
    };
  },
};
