import { gcpPlugin } from "./plugin.js";

export { CloudRunProvider, type CloudRunProviderOptions } from "./cloud-run-provider.js";
export { sdkCloudRunApi, type CloudRunApi, type CloudRunApiFactory } from "./cloud-run-api.js";
export { GCP_CREDENTIAL_TYPE, serviceAccountKeyFrom, credentialsFromKey, type ServiceAccountKey } from "./credentials.js";
export {
  CLOUD_RUN_BASE_JOB_TEMPLATE,
  DEFAULT_REGION,
  parseCloudRunJobConfiguration,
  defaultCloudRunJobConfiguration,
  type CloudRunJobConfiguration,
} from "./cloud-run-template.js";
export { buildCloudRunJob, buildRunJobRequest, CONTAINER_NAME } from "./job-builder.js";
export { executionStatus, explainFailure } from "./execution-status.js";
export { classifyGcpError, gcpErrorFacts, gcpErrorName, isGcpNotFound, GCP_ERRORS, type GcpErrorContext } from "./errors.js";
export { jobIdFor, parseExecutionName } from "./names.js";
export { checkResources, parseQuantity } from "./quantity.js";
export { parseGcpPluginOptions, type GcpPluginOptions } from "./options.js";
export { gcpPlugin };

/** The plugin the server loads: FERRY_PROVIDERS=@ferry/provider-gcp. */
export default gcpPlugin;
