import { createAwsPlugin } from "./plugin.js";
import { awsProvisioners } from "./provisioners.js";

export { EcsProvider, regionOf, DEFAULT_REGION, type EcsProviderOptions, type ProviderLogger } from "./ecs-provider.js";
export { ECS_BASE_JOB_TEMPLATE, parseEcsJobConfiguration, defaultEcsJobConfiguration, type EcsJobConfiguration, type CpuArchitecture, type LaunchType } from "./ecs-template.js";
export { classifyAwsError, classifyRunTaskFailure, type AwsErrorContext } from "./errors.js";
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
export { parseAwsPluginOptions, createAwsPlugin, type AwsPluginOptions } from "./plugin.js";

/** The plugin the server loads: FERRY_PROVIDERS=@ferry/provider-aws. */
const plugin = createAwsPlugin(awsProvisioners);
export default plugin;
