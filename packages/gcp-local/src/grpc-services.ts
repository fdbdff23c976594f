import type { Server} from "@grpc/grpc-js";
import { status as Status, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { AuthRefusal, type KeyRing } from "./keys.js";
import { GrpcError, codeName, isGrpcError } from "./grpc-error.js";
import type { CallLog, FaultInjector } from "./test-hooks.js";

/** Who called, and what: passed to every method. */
export interface CallContext {
  principal: string;
  service: string;
  method: string;
}

// Requests arrive decoded by proto-loader as plain objects (camelCase, longs and enums as strings).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Request = any;
export type UnaryMethod = (request: Request, context: CallContext) => Promise<object>;
/** A gRPC service's methods by their proto names (`CreateJob`); a method left out answers UNIMPLEMENTED. */
export type ServiceMethods = Record<string, UnaryMethod>;

export interface ServiceHooks {
  keys: KeyRing;
  calls: CallLog;
  faults: FaultInjector;
}

function resourceOf(request: Request): string | undefined {
  if (request === null || typeof request !== "object") return undefined;
  for (const field of ["name", "parent", "resource"]) if (typeof request[field] === "string" && request[field] !== "") return request[field] as string;
  return undefined;
}

/**
 * Adds each service (by full name, e.g. `google.cloud.run.v2.Jobs`) with every call authenticated by a
 * trusted key, recorded, and open to injected faults (before the method runs, or after with `after`).
 */
export function addServices(server: Server, definition: PackageDefinition, services: Record<string, ServiceMethods>, hooks: ServiceHooks): void {
  for (const [fullName, methods] of Object.entries(services)) {
    const service = definition[fullName] as ServiceDefinition | undefined;
    if (service === undefined) throw new Error(`gcp-local: ${fullName} is not in the loaded .proto files`);
    const shortName = fullName.slice(fullName.lastIndexOf(".") + 1);
    const implementation: UntypedServiceImplementation = {};
    for (const [methodName, method] of Object.entries(service)) {
      if (method.requestStream || method.responseStream) continue;
      implementation[methodName] = (call: ServerUnaryCall<Request, object>, callback: sendUnaryData<object>) => {
        void answer(shortName, methodName, methods[methodName], call, hooks).then(
          (response) => callback(null, response),
          (error: GrpcError) => callback({ code: error.code, details: error.message }),
        );
      };
    }
    server.addService(service, implementation);
  }
}

async function answer(service: string, method: string, implementation: UnaryMethod | undefined, call: ServerUnaryCall<Request, object>, hooks: ServiceHooks): Promise<object> {
  const resource = resourceOf(call.request);
  let principal: string | null = null;
  try {
    const authorization = call.metadata.get("authorization")[0];
    principal = hooks.keys.principalOf(typeof authorization === "string" ? authorization : undefined);
    const before = hooks.faults.take(service, method, false);
    if (before !== null) throw before;
    if (implementation === undefined) throw new GrpcError(Status.UNIMPLEMENTED, `gcp-local does not implement ${service}.${method}: Ferry does not call it.`);
    const response = await implementation(call.request, { principal, service, method });
    const after = hooks.faults.take(service, method, true);
    if (after !== null) throw after;
    hooks.calls.record({ service, method, principal, status: "OK", resource });
    return response;
  } catch (error) {
    const refusal = error instanceof AuthRefusal ? new GrpcError(Status.UNAUTHENTICATED, error.message) : null;
    const answered = refusal ?? (isGrpcError(error) ? error : new GrpcError(Status.INTERNAL, `gcp-local failed: ${(error as Error).message}`));
    hooks.calls.record({ service, method, principal, status: codeName(answered.code), resource });
    throw answered;
  }
}
