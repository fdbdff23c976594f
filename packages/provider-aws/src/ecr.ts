import { FerryError } from "@ferry/core";

/** `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, with the region captured. */
const ECR_HOST = /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function isEcrRegistry(host: string): boolean {
  return ECR_HOST.test(host);
}

/** The AWS region of an ECR registry host, or null when the host is not ECR. */
export function ecrRegion(host: string): string | null {
  return ECR_HOST.exec(host)?.[1] ?? null;
}

/** ECR's authorization token is base64 of `AWS:<password>`. */
export function decodeEcrToken(token: string): { username: string; password: string } {
  const text = Buffer.from(token, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) throw new FerryError("provider_error", "ecr:GetAuthorizationToken returned a token that is not 'user:password'");
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
