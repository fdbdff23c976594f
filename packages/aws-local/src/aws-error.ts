/**
 * An error as an AWS service reports it: a stable `code` (what the SDK turns into a named exception),
 * a message, and the HTTP status the service answers with. Services throw it; the protocol layer
 * encodes it the way the service's wire protocol does.
 */
export class AwsError extends Error {
  override readonly name = "AwsError";
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query-protocol errors say whose fault it was; only a few are the service's. */
    readonly fault: "Sender" | "Receiver" = status >= 500 ? "Receiver" : "Sender",
  ) {
    super(message);
  }
}

export function isAwsError(error: unknown): error is AwsError {
  return error instanceof AwsError;
}
