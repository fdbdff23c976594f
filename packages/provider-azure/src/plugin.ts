import { DEFAULT_PLUGIN_CONTEXT, type FerryPlugin } from "@ferry/core";
import { AciProvider } from "./aci-provider.js";
import { AZURE_CREDENTIAL_TYPE } from "./credentials.js";
import { AZURE_BLOB_SOURCE_STORE } from "./blob-source.js";
import { parseAzurePluginOptions } from "./options.js";

/** The server's plugin: FERRY_PROVIDERS=@ferry/provider-azure registers `azure-container-instance:push` and the `azure` credentials type. */
export const azurePlugin: FerryPlugin = {
  name: "@ferry/provider-azure",
  create(raw, context = DEFAULT_PLUGIN_CONTEXT) {
    const options = parseAzurePluginOptions(raw);
    return {
      providers: [new AciProvider({ ...options, allowAmbientCredentials: context.allowAmbientCredentials, logger: context.logger })],
      credentialTypes: [AZURE_CREDENTIAL_TYPE],
      sourceStores: [AZURE_BLOB_SOURCE_STORE],
    };
  },
};
