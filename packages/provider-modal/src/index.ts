import { modalPlugin } from "./plugin.js";

export { ModalProvider, type ModalProviderOptions } from "./modal-provider.js";
export { MODAL_CREDENTIAL_TYPE, modalTokenFrom, type ModalToken } from "./credentials.js";
export { MODAL_BASE_JOB_TEMPLATE, parseModalJobConfiguration, defaultModalJobConfiguration, DEFAULT_TIMEOUT_SECONDS, ENGINE_COMMAND, type ModalJobConfiguration } from "./modal-template.js";
export { classifyModalError, modalErrorFacts, MODAL_ERRORS, type ModalErrorContext } from "./errors.js";
export { buildSandboxSpec, sandboxNameFor, sandboxTags, packageLayer, imageCommands, engineCacheKey, RUN_TAG, POOL_TAG, DEPLOYMENT_TAG, type SandboxSpec } from "./sandbox-request.js";
export { sandboxStatus, GENERIC_STATUS, TIMEOUT_EXIT_CODE, TERMINATED_EXIT_CODE, type SandboxResult } from "./sandbox-status.js";
export { sdkClientFactory, sdkClients, cachedClients, type ModalClientFactory, type ModalClientSettings } from "./modal-clients.js";
export { parseModalPluginOptions, type ModalPluginOptions } from "./options.js";
export { modalPlugin };

/** The plugin the server loads: FERRY_PROVIDERS=@ferry/provider-modal. */
export default modalPlugin;
