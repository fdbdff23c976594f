import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { JwtSigner } from "./auth.js";
import { metadataValue, notFound, serverStream, unauthenticated, type RpcPlumbing } from "./rpc.js";
import type { ModalLocalState, SandboxRecord } from "./state.js";

const STDERR = 1;
const MAX_CHUNK = 64 * 1024;

export interface TaskCommandRouterDeps {
  state: ModalLocalState;
  signer: JwtSigner;
  plumbing: RpcPlumbing;
}

/** `modal.task_command_router.TaskCommandRouter`: a V2 sandbox's stdout and stderr, read by byte offset. */
export function taskCommandRouterService(deps: TaskCommandRouterDeps): UntypedServiceImplementation {
  const { state, plumbing } = deps;
  return {
    SandboxStdioReadV2: serverStream(plumbing, "SandboxStdioReadV2", async (req: { taskId: string; offset: number; fileDescriptor: number }, write: (m: { data: Buffer; startingOffset: number }) => void, ctx) => {
      const taskId = routerTaskFromAuthorization(deps.signer, metadataValue(ctx.metadata, "authorization"));
      if (taskId !== req.taskId) throw unauthenticated("The command router token is for another task.");
      let sandbox: SandboxRecord | undefined;
      for (const sb of state.sandboxes.values()) if (sb.taskId === req.taskId) sandbox = sb;
      if (sandbox === undefined) throw notFound(`Task ${req.taskId} not found`);
      const output = req.fileDescriptor === STDERR ? sandbox.stderr : sandbox.stdout;
      let offset = req.offset;
      for (;;) {
        const finished = sandbox.result !== null;
        const bytes = output.bytesFrom(offset);
        for (let start = 0; start < bytes.length; start += MAX_CHUNK) {
          const data = bytes.subarray(start, start + MAX_CHUNK);
          write({ data, startingOffset: offset });
          offset += data.length;
        }
        if (finished || ctx.signal.aborted) return;
        await sandbox.changed.next(30_000, ctx.signal);
      }
    }),
  };
}

/** The command router's check: a JWT this server signed for that task, as `authorization: Bearer …`. */
export function routerTaskFromAuthorization(signer: JwtSigner, authorization: string | undefined): string {
  const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  const claims = token === undefined ? null : signer.verify(token);
  if (claims === null || typeof claims.task_id !== "string") throw unauthenticated("Invalid or expired command router token.");
  return claims.task_id;
}
