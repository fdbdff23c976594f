import { defineErrorClassifier, kindOf, NETWORK_RULE, type ClassifyContext, type ErrorFacts, type ErrorTable } from "@ferry/provider-kit";

/**
 * The one table of Google Cloud failures, for the provider (the pool's service-account key, in the
 * server) and the provisioner and registry login (the user's application default credentials). gRPC
 * calls fail with a numeric status code; REST calls (IAM, the token endpoint) with an HTTP status and a
 * JSON `error.status` naming the same code, so both are read into one name.
 */
export interface GcpErrorContext extends ClassifyContext {
  /** The API method, e.g. `RunJob`: the messages start with it. */
  operation?: string;
  project?: string;
  region?: string;
  /** The work pool, for fixes such as `ferry work-pool provision-infra POOL`. */
  pool?: string;
  /** Whose identity made the call: the pool's key (default) or the user's own (provisioning, a registry login). */
  identity?: "pool" | "user";
  /** With the user's identity: what the call was for, so the message names it. */
  target?: string;
}

/** gRPC's status codes by number (google.rpc.Code), and the HTTP status Google maps each to. */
export const GRPC_CODES: ReadonlyArray<{ name: string; http: number }> = [
  { name: "OK", http: 200 },
  { name: "CANCELLED", http: 499 },
  { name: "UNKNOWN", http: 500 },
  { name: "INVALID_ARGUMENT", http: 400 },
  { name: "DEADLINE_EXCEEDED", http: 504 },
  { name: "NOT_FOUND", http: 404 },
  { name: "ALREADY_EXISTS", http: 409 },
  { name: "PERMISSION_DENIED", http: 403 },
  { name: "RESOURCE_EXHAUSTED", http: 429 },
  { name: "FAILED_PRECONDITION", http: 400 },
  { name: "ABORTED", http: 409 },
  { name: "OUT_OF_RANGE", http: 400 },
  { name: "UNIMPLEMENTED", http: 501 },
  { name: "INTERNAL", http: 500 },
  { name: "UNAVAILABLE", http: 503 },
  { name: "DATA_LOSS", http: 500 },
  { name: "UNAUTHENTICATED", http: 401 },
];

interface GcpErrorShape {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  message?: unknown;
  details?: unknown;
  reason?: unknown;
  cause?: { code?: unknown };
  response?: { status?: unknown; data?: { error?: { status?: unknown; message?: unknown; code?: unknown } | string; error_description?: unknown } };
}

/**
 * Reads a google-gax error (`code`: the gRPC status number, `details`: Google's words), a gaxios error
 * (`response.status`, `response.data.error`) or a Node network error.
 */
export function gcpErrorFacts(error: unknown): ErrorFacts {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as GcpErrorShape;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const data = e.response?.data;
  const restError = typeof data?.error === "object" && data.error !== null ? data.error : undefined;
  let name = "";
  let status: number | undefined;
  if (typeof e.code === "number" && e.code >= 0 && e.code < GRPC_CODES.length && !e.response) {
    name = GRPC_CODES[e.code]!.name;
    status = GRPC_CODES[e.code]!.http;
  }
  const httpStatus = typeof e.response?.status === "number" ? e.response.status : typeof e.status === "number" ? e.status : undefined;
  if (httpStatus !== undefined) {
    status = httpStatus;
    name = str(restError?.status) || (typeof data?.error === "string" ? data.error : "") || GRPC_CODES.find((c) => c.http === httpStatus)?.name || "";
  }
  if (!name) name = str(e.code) || (str(e.name) !== "Error" && str(e.name) !== "TypeError" ? str(e.name) : "");
  const code = str(e.code) || str(e.cause?.code) || str(e.reason);
  const restMessage = str(restError?.message) || str(data?.error_description);
  // gax puts Google's own words in `details` and prefixes `message` with the code ("8 RESOURCE_EXHAUSTED: …").
  const message = (restMessage || str(e.details) || str(e.message).replace(/^\d+ [A-Z_]+: /, "")).trim() || name || "unknown error";
  return { name, code, status, message };
}

const where = (c: GcpErrorContext) => (c.project ? ` in project '${c.project}'${c.region ? ` (${c.region})` : ""}` : c.region ? ` in ${c.region}` : "");
const user = (c: GcpErrorContext) => c.identity === "user";
const what = (c: GcpErrorContext) => `${c.operation ?? "the call"}${c.target ? ` (${c.target})` : ""}`;
const provision = (c: GcpErrorContext) => `run 'ferry work-pool provision-infra ${c.pool ?? "POOL"}'`;
const isQuota = (f: ErrorFacts) => /quota/i.test(f.message) && !/rate|per minute|per second|requests/i.test(f.message);

export const GCP_ERRORS: ErrorTable<GcpErrorContext> = {
  cloud: "Google Cloud",
  detailsKey: "gcp_error",
  facts: gcpErrorFacts,
  special: [
    {
      when: (f) => f.name === "SERVICE_DISABLED" || (f.name === "PERMISSION_DENIED" && /has not been used in project|is disabled|SERVICE_DISABLED/i.test(f.message)),
      kind: "refused",
      message: (f, c) => `${f.message}: enable the API (${provision(c)}, or in the console's APIs & Services)`,
    },
    {
      when: (f) => f.name === "FAILED_PRECONDITION" && /image|container/i.test(f.message),
      kind: "refused",
      message: (f) => `Cloud Run refused the image: ${f.message} (check the image name and tag, and that Cloud Run may pull it)`,
    },
    {
      when: (f) => f.name === "INVALID_ARGUMENT" && /image/i.test(f.message) && /not found|could not be found/i.test(f.message),
      kind: "refused",
      message: (f) => `the image could not be found: ${f.message} (check the image name and tag, and push it first)`,
    },
  ],
  // RESOURCE_EXHAUSTED is both a rate limit (retry) and a quota (retrying does not help): the words tell.
  throttled: { when: (f) => (f.name === "RESOURCE_EXHAUSTED" || f.status === 429) && !isQuota(f), names: ["RATE_LIMIT_EXCEEDED"] },
  unauthenticated: {
    names: ["UNAUTHENTICATED", "invalid_grant", "invalid_client", "unauthorized_client"],
    statuses: [401],
    pattern: /Could not load the default credentials|invalid_grant|Invalid JWT/i,
  },
  denied: { names: ["PERMISSION_DENIED"], statuses: [403] },
  notFound: { names: ["NOT_FOUND"], statuses: [404] },
  quota: { names: ["RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"], pattern: /quota/i },
  network: { names: [...(NETWORK_RULE.names ?? []), "ECONNABORTED"] },
  server: { names: ["INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "DATA_LOSS", "ABORTED"], statuses: [500, 502, 503, 504] },
  messages: {
    throttled: (f, c) =>
      user(c) ? `Google Cloud throttled ${what(c)}; wait a moment and run again (Google said: ${f.message})` : `Google Cloud is throttling requests${where(c)} (${f.message}); Ferry retries with a backoff`,
    unauthenticated: (f, c) =>
      user(c)
        ? `Google Cloud did not accept your credentials: run 'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS to a key file (Google said: ${f.message})`
        : `Google Cloud did not accept the pool's service-account key (${f.message}); the key may have been deleted: update the pool's gcp credentials, or ${provision(c)} on a pool without credentials`,
    denied: (f, c) =>
      user(c)
        ? `your Google identity may not do ${what(c)}${where(c)}; provision with an owner (or editor and IAM admin) of the project (Google said: ${f.message})`
        : `the pool's service account may not do this${where(c)} (${f.message}); grant it roles/run.developer and roles/iam.serviceAccountUser, or ${provision(c)}`,
    not_found: (f, c) => (user(c) ? `${what(c)}: ${f.message}` : `${f.message}${where(c)}: check the project and region job variables`),
    quota: (f, c) => `a Google Cloud quota was reached${where(c)} (${f.message}); raise it in the console's IAM & Admin > Quotas, or wait for other jobs to end`,
    network: (f, c) => `could not reach Google Cloud${user(c) ? ` for ${what(c)}` : ""}: ${f.message}`,
    server: (f, c) => `Google Cloud had an internal error${where(c)}${user(c) ? ` in ${what(c)}` : ""}: ${f.message}`,
    refused: (f, c) => (user(c) ? `Google Cloud refused ${what(c)}: ${f.message}` : `Google Cloud refused the request${where(c)}: ${f.message}`),
    unknown: (f, c) => (user(c) ? `${what(c)} failed: ${f.message}` : f.message),
  },
};

/**
 * Turns whatever a Google call threw into a FerryError with a stable code, whether retrying can help,
 * the original error as `cause`, and a message that says what to do.
 */
export const classifyGcpError = defineErrorClassifier(GCP_ERRORS);

/** The gRPC (or REST) name of a Google failure, e.g. `ALREADY_EXISTS`. */
export function gcpErrorName(error: unknown): string {
  return gcpErrorFacts(error).name;
}

export function isGcpNotFound(error: unknown): boolean {
  return kindOf(GCP_ERRORS, gcpErrorFacts(error)) === "not_found";
}
