export { startAwsLocal, HOOKS_PREFIX, type AwsLocal } from "./aws-local-server.js";
export { resolveAwsLocalOptions, AwsLocalOptionsError, type AwsLocalOptions, type ResolvedAwsLocalOptions } from "./aws-local-options.js";
export type { CallRecord, Fault } from "./test-hooks.js";
export type { ContainerRuntime, ContainerHandle, ContainerLaunch, ContainerExit, OutputLine } from "./container-runtime.js";
export { LABEL_TASK_ARN, LABEL_SERVER, LABEL_MANAGED, type TaskNetwork } from "./docker-container-runtime.js";
export type { AwsLocalState, AwsLocalStateData } from "./state.js";
