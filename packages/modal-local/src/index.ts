export { startModalLocal, type ModalLocal } from "./modal-local-server.js";
export { resolveModalLocalOptions, ModalLocalOptionsError, type ModalLocalOptions, type ResolvedModalLocalOptions } from "./modal-local-options.js";
export type { Fault, GrpcStatusName, PendingFault } from "./faults.js";
export { FaultInjectionError } from "./faults.js";
export type { CallRecord } from "./rpc.js";
export type { ModalToken } from "./auth.js";
export { TOKEN_INVALID_MESSAGE, TOKEN_ID_MALFORMED_MESSAGE, TOKEN_MISSING_MESSAGE } from "./auth.js";
export type { SandboxView, ModalLocalSnapshot } from "./views.js";
export type { GenericResult } from "./sandbox-result.js";
export type { ImageBuilder } from "./image-build.js";
export { PROTO_DIR } from "./proto.js";
import { containerLabels } from "@ferry/local-containers";
/** The Docker labels on sandbox containers: `modal-local.key` holds the sandbox id. */
export const MODAL_LOCAL_LABELS = containerLabels("modal-local");
