import { azurePlugin } from "./plugin.js";

export { AciProvider, ACI_POOL_TYPE, subscriptionOf, resourceGroupOf, type AciProviderOptions } from "./aci-provider.js";
export { AZURE_CREDENTIAL_TYPE } from "./credentials.js";
export { ACI_BASE_JOB_TEMPLATE, GPU_SKUS, parseAciJobConfiguration, defaultAciJobConfiguration, type AciJobConfiguration, type GpuSku, type ImageRegistry } from "./aci-template.js";
export { classifyAzureError, isAzureNotFound, retryAfterMs, azureErrorFacts, AZURE_ERRORS, type AzureErrorContext } from "./errors.js";
export { buildContainerGroup, containerGroupNameFor, infrastructureIdFor, parseInfrastructureId, CONTAINER_NAME, RUN_TAG, type GroupId, type RunContext } from "./container-group.js";
export { groupStatus } from "./group-status.js";
export {
  sdkAciClients,
  servicePrincipalFrom,
  servicePrincipalCredential,
  pipelineOptions,
  type AciClientFactory,
  type AciClientSettings,
  type AzureEndpoints,
  type ContainerGroupsApi,
  type ServicePrincipalSecret,
} from "./azure-clients.js";
export { parseAzurePluginOptions, type AzurePluginOptions } from "./options.js";
export { azurePlugin };

/** The plugin the server loads: FERRY_PROVIDERS=@ferry/provider-azure. */
export default azurePlugin;
