/** What the server needs from a SigV4 `Authorization` header; the signature itself is not verified. */
export interface SigV4Scope {
  accessKeyId: string;
  region: string;
  service: string;
}

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** Reads `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, …`; null when absent or not SigV4. */
export function parseSigV4Authorization(header: string | undefined): SigV4Scope | null {
  if (header === undefined || !header.startsWith("AWS4-HMAC-SHA256")) return null;
  const match = CREDENTIAL.exec(header);
  if (match === null) return null;
  return { accessKeyId: match[1]!, region: match[2]!, service: match[3]! };
}
