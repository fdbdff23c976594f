import { FerryError, isFerryError, type ErrorCode } from "@ferry/core";
import { redact, withoutSecrets } from "./secrets.js";

/**
 * One function per provider turns whatever its cloud's SDK threw into a FerryError: a stable code,
 * whether retrying can help, the original error as `cause`, and a message that names the fix. A provider
 * writes a table (the names, codes and HTTP statuses its cloud uses for each kind of failure, and how
 * to say each kind to a user); `defineErrorClassifier` makes the function, in the same order for every
 * cloud.
 */

/** The kinds of failure every cloud has. */
export type ErrorKind =
  /** Slow down: retrying after a backoff helps. */
  | "throttled"
  /** The credentials are fine but may not do this. */
  | "denied"
  /** The credentials were not accepted: wrong, expired, missing. */
  | "unauthenticated"
  | "not_found"
  /** A limit of the account: retrying does not help until a quota is raised or something freed. */
  | "quota"
  /** The cloud failed: retrying helps. */
  | "server"
  /** The cloud could not be reached: retrying helps. */
  | "network"
  /** The cloud refused the request as it is (a bad parameter): retrying the same request does not help. */
  | "refused"
  /** The call was aborted by its caller. */
  | "aborted"
  /** Not an answer of the cloud at all (a bug, an unexpected reply). */
  | "unknown";

const KIND_CODES: Record<ErrorKind, { code: ErrorCode; retryable: boolean }> = {
  throttled: { code: "provider_throttled", retryable: true },
  denied: { code: "provider_auth", retryable: false },
  unauthenticated: { code: "provider_auth", retryable: false },
  not_found: { code: "provider_not_found", retryable: false },
  quota: { code: "provider_quota", retryable: false },
  server: { code: "provider_error", retryable: true },
  network: { code: "provider_error", retryable: true },
  refused: { code: "provider_error", retryable: false },
  aborted: { code: "provider_error", retryable: false },
  unknown: { code: "provider_error", retryable: false },
};

/** What classification reads of an SDK's error, whatever its shape. */
export interface ErrorFacts {
  /** The cloud's name for the failure: an exception name or an error code (`QuotaExceeded`, `RESOURCE_EXHAUSTED`). */
  name: string;
  /** A second code: Node's `ECONNREFUSED`, a numeric gRPC status as text. Empty when none. */
  code: string;
  /** The HTTP status of the answer, when there was one. */
  status: number | undefined;
  /** The cloud's own words (secrets masked); the name when it said none. */
  message: string;
  /** The SDK's own verdict on whose fault it was, when it gives one. */
  fault?: "client" | "server" | undefined;
  /** The SDK says this was throttling, whatever the name. */
  throttling?: boolean | undefined;
  /**
   * The cloud's id of the failed request, when it gave one: every message ends with it, so a user can
   * quote it to the cloud's support and an operator can find the call in the cloud's audit log.
   */
  requestId?: string | undefined;
}

/** Matches a failure: any listed name or code, any listed HTTP status, a pattern of its message, or `when`. */
export interface ErrorRule {
  names?: readonly string[];
  statuses?: readonly number[];
  pattern?: RegExp;
  when?: (facts: ErrorFacts) => boolean;
}

/** How a kind of failure is said to a user; `context` is what the provider knew about the call. */
export type MessageBuilder<C> = (facts: ErrorFacts, context: C) => string;

/** A case a kind cannot say well (e.g. a missing cluster, whose message names its job variable). Checked first. */
export interface SpecialCase<C> extends ErrorRule {
  kind: ErrorKind;
  message: MessageBuilder<C>;
  /** Overrides the kind's code, e.g. `validation_failed` for a missing setting the user must give. */
  code?: ErrorCode;
  retryable?: boolean;
}

/** What every classification context may hold; a provider extends it with its own fields (region, pool…). */
export interface ClassifyContext {
  /** The cloud operation that failed, e.g. `CreateJob`; the default messages start with it. */
  operation?: string;
  /** Values to keep out of the error: the credentials' secrets (see secretValues). */
  secrets?: readonly string[];
}

export interface ErrorTable<C extends ClassifyContext> {
  /** The cloud's name in messages, e.g. "Acme Cloud". */
  cloud: string;
  /** The key of the cloud's error name in `details`, e.g. `acme_error`; default `cloud_error`. */
  detailsKey?: string;
  /** Reads the SDK's error shape; default readErrorFacts (name, code, status/statusCode, message, cause's code). */
  facts?: (error: unknown) => ErrorFacts;
  special?: readonly SpecialCase<C>[];
  throttled?: ErrorRule;
  unauthenticated?: ErrorRule;
  denied?: ErrorRule;
  notFound?: ErrorRule;
  quota?: ErrorRule;
  network?: ErrorRule;
  server?: ErrorRule;
  /** How each kind is said; a kind without a builder gets a plain default naming the cloud. */
  messages?: Partial<Record<ErrorKind, MessageBuilder<C>>>;
  /** Prefix of every message; default `<operation>: ` when the context names one. */
  prefix?: (context: C) => string;
  /** Extra details from the context (never secrets: they are masked anyway). */
  details?: (facts: ErrorFacts, context: C) => Record<string, unknown>;
}

export type ErrorClassifier<C extends ClassifyContext> = (error: unknown, context?: C) => FerryError;

/** Node's and undici's codes for a connection that failed, and the names SDKs give timeouts. */
export const NETWORK_RULE: ErrorRule = {
  names: [
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "EPIPE",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_SOCKET",
    "UND_ERR_HEADERS_TIMEOUT",
    "TimeoutError",
    "RequestTimeout",
    "NetworkingError",
  ],
};

/** Common HTTP answers: 429 throttled, 401 unauthenticated, 403 denied, 404 not found, 5xx server. */
export const HTTP_STATUS_RULES = {
  throttled: { statuses: [429] },
  unauthenticated: { statuses: [401] },
  denied: { statuses: [403] },
  notFound: { statuses: [404] },
  server: { statuses: [500, 502, 503, 504] },
} as const satisfies Record<string, ErrorRule>;

/** Reads the fields most SDKs and Node errors carry: `name`, `code`, `status`/`statusCode`, `message`, and the cause's `code`. */
export function readErrorFacts(error: unknown): ErrorFacts {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
  const num = (v: unknown) => (typeof v === "number" && Number.isInteger(v) ? v : undefined);
  const response = (typeof e.response === "object" && e.response !== null ? e.response : {}) as Record<string, unknown>;
  const cause = (typeof e.cause === "object" && e.cause !== null ? e.cause : {}) as Record<string, unknown>;
  const rawName = str(e.name);
  const name = rawName && rawName !== "Error" && rawName !== "TypeError" ? rawName : str(e.code) || rawName;
  const code = str(e.code) || str(cause.code);
  const message = (str(e.message).trim() || name || "unknown error").trim();
  const requestId = str(e.requestId) || str(e.request_id);
  return { name, code, status: num(e.status) ?? num(e.statusCode) ?? num(response.status), message, ...(requestId ? { requestId } : {}) };
}

function matches(rule: ErrorRule | undefined, facts: ErrorFacts): boolean {
  if (!rule) return false;
  if (rule.names?.some((n) => n === facts.name || (facts.code !== "" && n === facts.code))) return true;
  if (facts.status !== undefined && rule.statuses?.includes(facts.status)) return true;
  if (rule.pattern?.test(facts.message)) return true;
  return rule.when?.(facts) ?? false;
}

const DEFAULT_MESSAGES: Record<ErrorKind, (cloud: string) => MessageBuilder<ClassifyContext>> = {
  throttled: (cloud) => (f) => `${cloud} is throttling requests (${f.message}); Ferry retries with a backoff`,
  denied: (cloud) => (f) => `the credentials may not do this on ${cloud} (${f.message}); grant the permission to their identity`,
  unauthenticated: (cloud) => (f) => `${cloud} did not accept the credentials (${f.message}); check or renew them`,
  not_found: () => (f) => f.message,
  quota: (cloud) => (f) => `a ${cloud} limit was reached (${f.message}); raise the quota or free some resources`,
  server: (cloud) => (f) => `${cloud} had an internal error: ${f.message}`,
  network: (cloud) => (f) => `could not reach ${cloud}: ${f.message}`,
  refused: (cloud) => (f) => `${cloud} refused the request: ${f.message}`,
  aborted: () => (f) => `the call was aborted: ${f.message}`,
  unknown: () => (f) => f.message,
};

/** The kind of a failure by the table, without building the error: for callers that branch on it. */
export function kindOf<C extends ClassifyContext>(table: ErrorTable<C>, facts: ErrorFacts): ErrorKind {
  if (facts.name === "AbortError" || facts.code === "ABORT_ERR") return "aborted";
  if (facts.throttling || matches(table.throttled, facts)) return "throttled";
  if (matches(table.unauthenticated, facts)) return "unauthenticated";
  if (matches(table.denied, facts)) return "denied";
  if (matches(table.notFound, facts)) return "not_found";
  if (matches(table.quota, facts)) return "quota";
  if (matches(table.network ?? NETWORK_RULE, facts)) return "network";
  if (matches(table.server, facts) || facts.fault === "server" || (facts.status !== undefined && facts.status >= 500)) return "server";
  if (facts.fault === "client" || (facts.status !== undefined && facts.status >= 400)) return "refused";
  return "unknown";
}

/**
 * The provider's one classification function. Order: aborted, the table's special cases, throttled,
 * unauthenticated, denied, not found, quota, network, server (or any 5xx), refused (any 4xx), unknown.
 * A FerryError passes through (with secrets masked); so classifying twice is harmless.
 */
export function defineErrorClassifier<C extends ClassifyContext>(table: ErrorTable<C>): ErrorClassifier<C> {
  const readFacts = table.facts ?? readErrorFacts;
  const detailsKey = table.detailsKey ?? "cloud_error";
  return (error, context = {} as C) => {
    const secrets = context.secrets ?? [];
    if (isFerryError(error)) return withoutSecrets(error, secrets) as FerryError;
    const raw = readFacts(error);
    const facts: ErrorFacts = { ...raw, message: redact(raw.message, secrets) };
    const prefix = table.prefix ? table.prefix(context) : context.operation ? `${context.operation}: ` : "";
    const special = facts.name === "AbortError" ? undefined : table.special?.find((s) => matches(s, facts));
    const kind = special?.kind ?? kindOf(table, facts);
    const build = special?.message ?? table.messages?.[kind] ?? (DEFAULT_MESSAGES[kind](table.cloud) as MessageBuilder<C>);
    const { code, retryable } = KIND_CODES[kind];
    const requestId = facts.requestId ? ` (${table.cloud} request id ${facts.requestId})` : "";
    const made = new FerryError(special?.code ?? code, `${prefix}${build(facts, context)}${requestId}`, {
      cause: error,
      retryable: special?.retryable ?? retryable,
      details: {
        [detailsKey]: facts.name || facts.code || undefined,
        http_status: facts.status,
        ...(facts.requestId ? { request_id: facts.requestId } : {}),
        ...(table.details ? table.details(facts, context) : {}),
      },
    });
    return withoutSecrets(made, secrets) as FerryError;
  };
}
