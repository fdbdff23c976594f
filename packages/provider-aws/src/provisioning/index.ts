/**
 * `@ferry/provider-aws/provisioning`: what `ferry work-pool create --provision-infra` and
 * `ferry work-pool deprovision` run, with the user's own AWS identity. Loaded only by those commands.
 */
export { EcsProvisioner, type EcsProvisionerOptions, type ProvisionedCredentials, type RegistryLogin } from "./ecs-provisioner.js";
export { deprovision, planDeprovision, type DeprovisionOptions, type DeprovisionProgress, type DeprovisionStep } from "./deprovision.js";
export { ecsPolicyDocument, executionRoleLogsDocument, executionRoleTrustDocument, MANAGED_TASK_EXECUTION_POLICY_ARN, type EcsPolicyOptions, type PolicyDocument } from "./policy.js";
export { chooseVpcCidr, cidrsOverlap, subnetCidrs } from "./cidr.js";
export { credentialsName, planSteps, POOL_TAG, type ObservedState } from "./plan.js";
export { DEFAULT_NAMES, PROVISIONING_OPTION_KEYS, resolveNames, type ProvisioningNames } from "./names.js";
export { classifyAwsError } from "./aws-errors.js";
export { createAwsClients, type AwsClients, type AwsClientsOptions } from "./aws-clients.js";
