export { HOOKS_PREFIX } from "./http-server.js";
export { startGcpLocal, TEST_ACCOUNT_ROLES, type GcpLocal, type GcpLocalSnapshot } from "./gcp-local-server.js";
export { resolveGcpLocalOptions, GcpLocalOptionsError, NEW_PROJECT_SERVICES, READY_PROJECT_SERVICES, type GcpLocalOptions, type ResolvedGcpLocalOptions } from "./gcp-local-options.js";
export type { CallRecord, ExecutionFailure, Fault } from "./test-hooks.js";
export type { ServiceAccountKeyFile } from "./keys.js";
export type { ContainerRuntime, ContainerHandle, ContainerLaunch, ContainerExit, OutputLine, ContainerNetwork } from "@ferry/local-containers";
import { containerLabels } from "@ferry/local-containers";
/** The Docker labels on execution containers: `gcp-local.key` holds `EXECUTION_NAME/TASK_INDEX/ATTEMPT`. */
export const GCP_LOCAL_LABELS = containerLabels("gcp-local");
export { startGcsLocal, parseUpload, type GcsLocal, type GcsRequestRecord } from "./gcs-local.js";
