import { validateWithSchema } from "@ferry/core";

/**
 * Options of both plugins, from FERRY_PROVIDER_OPTIONS["@ferry/provider-gcp"] (the server's, or the
 * client's environment). Unset: Google's own endpoints. A local stand-in such as @ferry/gcp-local is
 * reached by giving its host, its gRPC port, its REST URL and the PEM of the CA its TLS certificate is
 * issued by (gRPC carries the access token only over TLS).
 */
export interface GcpPluginOptions {
  /** Host every gRPC client is sent to, e.g. `127.0.0.1`. */
  apiEndpoint?: string;
  /** Port of `apiEndpoint` (default 443). */
  port?: number;
  /** PEM of the CA that issued the endpoint's certificate; default the system's CAs. */
  caPem?: string;
  /** Base URL of the REST APIs Ferry calls over HTTP (IAM service accounts and keys), e.g. `https://127.0.0.1:8443`. */
  restUrl?: string;
  /** Server: how often runs that ended unobserved are read again to delete their jobs (default 15000 ms). */
  jobCleanupIntervalMs?: number;
}

const OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    apiEndpoint: { type: "string", pattern: "^[A-Za-z0-9.:\\[\\]-]+$", description: "host every gRPC client is sent to" },
    port: { type: "integer", minimum: 1, maximum: 65535, description: "port of apiEndpoint" },
    caPem: { type: "string", pattern: "-----BEGIN CERTIFICATE-----", description: "PEM of the CA of the endpoint's TLS certificate" },
    restUrl: { type: "string", pattern: "^https?://[^\\s/]+/?$", description: "base URL of the REST APIs (IAM)" },
    jobCleanupIntervalMs: { type: "integer", minimum: 100, maximum: 3_600_000, description: "how often ended runs' jobs are looked for, in ms" },
  },
};

export function parseGcpPluginOptions(options: unknown): GcpPluginOptions {
  return validateWithSchema<GcpPluginOptions>(OPTIONS_SCHEMA, options ?? {}, "options of @ferry/provider-gcp");
}
