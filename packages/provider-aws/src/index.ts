import { awsPlugin } from "./plugin.js";

export { EcsProvider, regionOf, DEFAULT_REGION, type EcsProviderOptions } from "./ecs-provider.js";
export { AWS_CREDENTIAL_TYPE } from "./credentials.js";
export { ECS_BASE_JOB_TEMPLATE, parseEcsJobConfiguration, defaultEcsJobConfiguration, type EcsJobConfiguration, type CpuArchitecture, type LaunchType } from "./ecs-template.js";
export { classifyAwsError, classifyRunTaskFailure, isAwsNotFound, AWS_ERRORS, type AwsErrorContext } from "./errors.js";
export {
  buildTaskDefinition,
  buildRunTaskRequest,
  taskDefinitionKey,
  resolveNetwork,
  familyFor,
  placementOf,
  clientTokenFor,
  type NetworkLookup,
  type TaskNetwork,
} from "./task-definition.js";
export { taskStatus, explainStop, infrastructureIdFor, parseInfrastructureId } from "./task-status.js";
export { awsCredentialsFrom, sdkClientFactory, type AwsClientFactory, type AwsClients, type AwsClientSettings } from "./aws-clients.js";
export { parseAwsPluginOptions, type AwsPluginOptions } from "./options.js";
export { awsPlugin };

/** The plugin the server loads: FERRY_PROVIDERS=@ferry/provider-aws. */
export default awsPlugin;
