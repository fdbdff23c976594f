export { startAzureLocal, HOOKS_PREFIX, type AzureLocal, type AzureLocalOptions } from "./azure-local-server.js";
export type { CallRecord, Fault } from "./faults.js";
export type { AzureLocalSnapshot } from "./snapshot.js";
export type { Hold, HoldMatch, HeldRequest } from "./holds.js";
export { BUILT_IN_ROLES } from "./authorization.js";
export type { ContainerRuntime, ContainerHandle, ContainerLaunch, ContainerExit, OutputLine } from "@ferry/local-containers";
import { containerLabels } from "@ferry/local-containers";
/** The Docker labels on the containers of container groups: `azure-local.key` holds the group's id and container name. */
export const AZURE_LOCAL_LABELS = containerLabels("azure-local");
