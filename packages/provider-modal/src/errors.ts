import { defineErrorClassifier, NETWORK_RULE, type ClassifyContext, type ErrorFacts, type ErrorTable } from "@ferry/provider-kit";

/** What the provider and the provisioner knew about a failed Modal call. */
export interface ModalErrorContext extends ClassifyContext {
  /** The SDK call, e.g. `sandboxes.create`: messages start with it. */
  operation?: string;
  app?: string;
  environment?: string;
  image?: string;
  /** The work pool, for fixes such as `ferry work-pool provision-infra POOL`. */
  pool?: string;
  /** Whose token made the call: the pool's (default) or the user's own (provisioning). */
  identity?: "pool" | "user";
}

/** gRPC status codes by number, as nice-grpc's ClientError carries them in `code`. */
const GRPC_STATUS = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

const CLIENT_FAULTS = new Set(["INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNIMPLEMENTED", "UNAUTHENTICATED", "InvalidError", "AlreadyExistsError", "ConflictError"]);
const SERVER_FAULTS = new Set(["INTERNAL", "UNKNOWN", "DATA_LOSS", "ABORTED", "InternalFailure"]);

/**
 * Reads what the SDK throws: nice-grpc's `ClientError` (`code` a gRPC status number, `details` Modal's
 * words), the SDK's own classes (`NotFoundError`, `ResourceExhaustedError`, `AlreadyExistsError`…, named by
 * `name`), or a plain Error (an image build that failed, missing credentials).
 */
export function modalErrorFacts(error: unknown): ErrorFacts {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const rawName = str(e.name);
  const grpc = typeof e.code === "number" ? GRPC_STATUS[e.code] : undefined;
  const sdkClass = rawName && rawName !== "Error" && rawName !== "TypeError" && rawName !== "ClientError" ? rawName : "";
  const nodeCode = typeof e.code === "string" ? e.code : typeof (e.cause as { code?: unknown } | undefined)?.code === "string" ? String((e.cause as { code: string }).code) : "";
  const name = grpc ?? (sdkClass || nodeCode);
  const message = (str(e.details).trim() || str(e.message).trim() || name || "unknown error").trim();
  const fault = CLIENT_FAULTS.has(name) ? "client" : SERVER_FAULTS.has(name) ? "server" : undefined;
  return { name, code: grpc ? String(e.code) : nodeCode, status: undefined, message, fault };
}

const provision = (c: ModalErrorContext) => `ferry work-pool provision-infra ${c.pool ?? "POOL"}`;
const tokenFix = (c: ModalErrorContext) =>
  c.identity === "user"
    ? "make a token with 'modal token new' (or at https://modal.com/settings/tokens) and set MODAL_TOKEN_ID / MODAL_TOKEN_SECRET or ~/.modal.toml"
    : `make a token with 'modal token new' (or at https://modal.com/settings/tokens) and store it with '${provision(c)}'`;

const isNotFound = (f: ErrorFacts) => f.name === "NOT_FOUND" || f.name === "NotFoundError";

/** Modal's rate limits answer RESOURCE_EXHAUSTED too; they say so in words, a quota does not. */
const RATE_LIMIT = /rate limit|too many requests|throttl|slow down/i;

export const MODAL_ERRORS: ErrorTable<ModalErrorContext> = {
  cloud: "Modal",
  detailsKey: "modal_error",
  facts: modalErrorFacts,
  special: [
    {
      pattern: /Profile is missing credentials/i,
      kind: "unauthenticated",
      message: (_f, c) => `no Modal token: ${tokenFix(c)}`,
    },
    {
      pattern: /^Image build for .* failed/is,
      kind: "refused",
      message: (f, c) => `Modal could not build the image${c.image ? ` '${c.image}'` : ""}: ${f.message.replace(/^Image build for \S+ failed with the exception:\s*/is, "")} (check the image name and tag, that Modal may pull it, and the pip_packages / npm_packages)`,
    },
    {
      pattern: /^Image build for .* (terminated|timed out)/is,
      kind: "server",
      message: (f) => `Modal did not finish building the image: ${f.message}`,
    },
    {
      when: (f) => isNotFound(f) && /secret/i.test(f.message),
      kind: "not_found",
      message: (f) => `${f.message}: create the Modal secret ('modal secret create NAME KEY=VALUE') or remove it from the secrets job variable`,
    },
    {
      when: (f) => isNotFound(f) && /environment/i.test(f.message),
      kind: "not_found",
      message: (f) => `${f.message}: set the environment job variable to an environment of the token's workspace ('modal environment list'), or null for the default`,
    },
  ],
  throttled: { when: (f) => f.name === "RESOURCE_EXHAUSTED" && RATE_LIMIT.test(f.message) },
  unauthenticated: { names: ["UNAUTHENTICATED"] },
  denied: { names: ["PERMISSION_DENIED"] },
  notFound: { names: ["NOT_FOUND", "NotFoundError"] },
  quota: { names: ["RESOURCE_EXHAUSTED", "ResourceExhaustedError"] },
  network: { names: [...(NETWORK_RULE.names ?? []), "UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"] },
  server: { names: [...SERVER_FAULTS] },
  messages: {
    unauthenticated: (f, c) => `Modal did not accept the ${c.identity === "user" ? "" : "pool's "}token (${f.message}): ${tokenFix(c)}`,
    denied: (f) => `the Modal token may not do this (${f.message}): use a token of a workspace member allowed to create sandboxes`,
    quota: (f) => `Modal refused for a limit of the workspace (${f.message}): wait for running sandboxes to end, or raise the limit in Modal's settings`,
    throttled: (f) => `Modal is rate limiting requests (${f.message}); Ferry retries with a backoff`,
    network: (f) => `could not reach Modal (${f.message}); Ferry retries`,
  },
};

/** The one classification of Modal failures, for the provider (the pool's token) and the provisioner (the user's). */
export const classifyModalError = defineErrorClassifier(MODAL_ERRORS);
