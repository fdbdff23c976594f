import { Metadata, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceError } from "@grpc/grpc-js";
import type { FaultBook } from "./faults.js";
import type { HoldBook } from "./holds.js";
import { statusName } from "./faults.js";

/** An answer with a gRPC status other than OK, in the words Modal's API uses. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string): RpcError => new RpcError(GrpcStatus.NOT_FOUND, message);
export const invalidArgument = (message: string): RpcError => new RpcError(GrpcStatus.INVALID_ARGUMENT, message);
export const alreadyExists = (message: string): RpcError => new RpcError(GrpcStatus.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): RpcError => new RpcError(GrpcStatus.FAILED_PRECONDITION, message);
export const unauthenticated = (message: string): RpcError => new RpcError(GrpcStatus.UNAUTHENTICATED, message);

/** One RPC the server answered. Never holds a secret: no token secret, no variable's value. */
export interface CallRecord {
  rpc: string;
  /** The token id the call carried (null when none, and for the task command router). */
  tokenId: string | null;
  /** `OK` or the gRPC status name of the error answered. */
  status: string;
  /** The error's message, when not OK. */
  message?: string;
  /** Whether an injected fault answered it. */
  injected?: boolean;
  time: string;
}

export interface CallContext {
  tokenId: string | null;
  metadata: Metadata;
  /** Fires when the client goes away. */
  signal: AbortSignal;
}

export interface RpcPlumbing {
  faults: FaultBook;
  holds: HoldBook;
  record(call: CallRecord): void;
  /** Checks the call's credentials; returns the token id, or throws an RpcError. */
  authenticate(rpc: string, metadata: Metadata): string | null;
  now(): Date;
}

function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof RpcError) return { code: error.grpcCode, details: error.message, metadata: new Metadata() };
  return { code: GrpcStatus.INTERNAL, details: `modal-local: ${(error as Error).message}`, metadata: new Metadata() };
}

/** A metadata entry's text value (the first, when sent more than once). */
export function metadataValue(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === "string" ? value : undefined;
}

async function perform<T>(plumbing: RpcPlumbing, rpc: string, metadata: Metadata, signal: AbortSignal, work: (ctx: CallContext) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Partial<ServiceError> }> {
  let tokenId: string | null = metadataValue(metadata, "x-modal-token-id") ?? null;
  const time = plumbing.now().toISOString();
  try {
    tokenId = plumbing.authenticate(rpc, metadata);
    const before = plumbing.faults.take(rpc, "before");
    if (before !== null) {
      plumbing.record({ rpc, tokenId, status: before.code, message: before.message, injected: true, time });
      return { ok: false, error: { code: GrpcStatus[before.code], details: before.message, metadata: new Metadata() } };
    }
    const value = await work({ tokenId, metadata, signal });
    const held = plumbing.holds.take(rpc);
    if (held !== null) await held;
    const after = plumbing.faults.take(rpc, "after");
    if (after !== null) {
      plumbing.record({ rpc, tokenId, status: after.code, message: after.message, injected: true, time });
      return { ok: false, error: { code: GrpcStatus[after.code], details: after.message, metadata: new Metadata() } };
    }
    plumbing.record({ rpc, tokenId, status: "OK", time });
    return { ok: true, value };
  } catch (error) {
    const serviceError = toServiceError(error);
    plumbing.record({ rpc, tokenId, status: statusName(serviceError.code ?? GrpcStatus.UNKNOWN), message: serviceError.details ?? "", time });
    return { ok: false, error: serviceError };
  }
}

/** A unary RPC: credentials checked, faults applied, the call recorded. */
export function unary<Req, Res>(plumbing: RpcPlumbing, rpc: string, handler: (request: Req, ctx: CallContext) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    void perform(plumbing, rpc, call.metadata, abort.signal, async (ctx) => handler(call.request, ctx)).then((outcome) => {
      if (outcome.ok) callback(null, outcome.value);
      else callback(outcome.error);
    });
  };
}

/** A server-streaming RPC: `handler` writes messages and returns when the stream is done. */
export function serverStream<Req, Res>(plumbing: RpcPlumbing, rpc: string, handler: (request: Req, write: (message: Res) => void, ctx: CallContext) => Promise<void>) {
  return (call: ServerWritableStream<Req, Res>): void => {
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    const write = (message: Res): void => {
      if (!abort.signal.aborted) call.write(message);
    };
    void perform(plumbing, rpc, call.metadata, abort.signal, async (ctx) => handler(call.request, write, ctx)).then((outcome) => {
      if (abort.signal.aborted) return;
      if (outcome.ok) call.end();
      else call.emit("error", outcome.error);
    });
  };
}
