import { DEFAULT_PLUGIN_CONTEXT, type FerryPlugin } from "@ferry/core";
import { MODAL_CREDENTIAL_TYPE } from "./credentials.js";
import { ModalProvider } from "./modal-provider.js";
import { parseModalPluginOptions } from "./options.js";

/** The server's plugin: FERRY_PROVIDERS=@ferry/provider-modal registers `modal:push` and the `modal` credentials type. */
export const modalPlugin: FerryPlugin = {
  name: "@ferry/provider-modal",
  create(raw, context = DEFAULT_PLUGIN_CONTEXT) {
    const options = parseModalPluginOptions(raw);
    return {
      providers: [
        new ModalProvider({
          ...(options.server_url ? { serverUrl: options.server_url } : {}),
          ...(options.attempts ? { attempts: options.attempts } : {}),
          allowAmbientCredentials: context.allowAmbientCredentials,
          logger: context.logger,
        }),
      ],
      credentialTypes: [MODAL_CREDENTIAL_TYPE],
    };
  },
};
