export interface OidcIssuer {
  url: string;
  addKey(alg?: "RS256" | "ES256" | "PS256" | "EdDSA", options?: { publish?: boolean }): Promise<string>;
  publishOnly(kids: string[]): void;
  readonly jwksRequests: number;
  sign(claims: Record<string, unknown>, options?: { kid?: string }): Promise<string>;
  close(): Promise<void>;
}
export function startOidcIssuer(): Promise<OidcIssuer>;
