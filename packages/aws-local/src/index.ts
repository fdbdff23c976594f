export { startAwsLocal, HOOKS_PREFIX, type AwsLocal } from "./aws-local-server.js";
export { resolveAwsLocalOptions, AwsLocalOptionsError, type AwsLocalOptions, type ResolvedAwsLocalOptions } from "./aws-local-options.js";
export type { CallRecord, Fault } from "./test-hooks.js";
export type { ContainerRuntime, ContainerHandle, ContainerLaunch, ContainerExit, OutputLine } from "@ferry/local-containers";
export type { ContainerNetwork as TaskNetwork } from "@ferry/local-containers";
import { containerLabels } from "@ferry/local-containers";
/** The Docker labels on the containers of ECS tasks: `aws-local.key` holds the task's ARN. */
export const AWS_LOCAL_LABELS = containerLabels("aws-local");
export type { AwsLocalState, AwsLocalStateData } from "./state.js";
