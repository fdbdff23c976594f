import { status as Status } from "@grpc/grpc-js";

/** A gRPC status to answer, with Google's message; the REST face maps it to an HTTP status. */
export class GrpcError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
    this.name = "GrpcError";
  }
}

export function isGrpcError(error: unknown): error is GrpcError {
  return error instanceof Error && error.name === "GrpcError" && typeof (error as GrpcError).code === "number";
}

export const notFound = (message: string): GrpcError => new GrpcError(Status.NOT_FOUND, message);
export const invalidArgument = (message: string): GrpcError => new GrpcError(Status.INVALID_ARGUMENT, message);
export const alreadyExists = (message: string): GrpcError => new GrpcError(Status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): GrpcError => new GrpcError(Status.FAILED_PRECONDITION, message);
export const permissionDenied = (message: string): GrpcError => new GrpcError(Status.PERMISSION_DENIED, message);
export const unauthenticated = (message: string): GrpcError => new GrpcError(Status.UNAUTHENTICATED, message);

const HTTP_OF_CODE: Record<number, number> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 499,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 400,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
  [Status.UNAUTHENTICATED]: 401,
};

const CODE_OF_HTTP: Record<number, Status> = {
  400: Status.INVALID_ARGUMENT,
  401: Status.UNAUTHENTICATED,
  403: Status.PERMISSION_DENIED,
  404: Status.NOT_FOUND,
  409: Status.ABORTED,
  429: Status.RESOURCE_EXHAUSTED,
  499: Status.CANCELLED,
  500: Status.INTERNAL,
  501: Status.UNIMPLEMENTED,
  503: Status.UNAVAILABLE,
  504: Status.DEADLINE_EXCEEDED,
};

/** The HTTP status Google's REST face answers for a gRPC code (google.rpc.Code's mapping). */
export function httpStatusOf(code: Status): number {
  return HTTP_OF_CODE[code] ?? 500;
}

/** The gRPC code for a status given as a number (a gRPC code below 100, an HTTP status otherwise) or a name. */
export function grpcCodeOf(code: number | string): Status {
  if (typeof code === "string") {
    const value = (Status as unknown as Record<string, number>)[code];
    if (value === undefined) throw new TypeError(`unknown gRPC status ${code}: use a name such as RESOURCE_EXHAUSTED or a number`);
    return value;
  }
  if (code < 100) return code as Status;
  const mapped = CODE_OF_HTTP[code];
  if (mapped === undefined) throw new TypeError(`no gRPC status for HTTP ${code}: use one of ${Object.keys(CODE_OF_HTTP).join(", ")}`);
  return mapped;
}

/** google.rpc.Code's name of a status, e.g. `RESOURCE_EXHAUSTED`. */
export function codeName(code: Status): string {
  return Status[code] ?? String(code);
}
