import { Type, type Static } from "@sinclair/typebox";
import { FerryError } from "./errors.js";
import { ROLES, RoleSchema } from "./roles.js";

/**
 * Workspace trust policies for OpenID Connect: "a token from this issuer, for this audience, whose
 * claims match these conditions, acts in this workspace with this role". A GitHub Actions job with
 * `id-token: write` thereby signs in without a long-lived key in the repository's secrets.
 */

/** The claims a condition may test: GitHub Actions' (also found under these names in other CIs' tokens). */
export const OIDC_CONDITION_CLAIMS = [
  "sub",
  "repository",
  "repository_id",
  "repository_owner",
  "repository_owner_id",
  "ref",
  "ref_type",
  "environment",
  "event_name",
  "workflow_ref",
  "job_workflow_ref",
  "actor",
] as const;
export type OidcConditionClaim = (typeof OIDC_CONDITION_CLAIMS)[number];

/**
 * A policy without one of these would trust every repository the issuer signs for (all of GitHub):
 * each policy must pin who the token is about.
 */
const PINNING_CLAIMS: readonly OidcConditionClaim[] = ["sub", "repository", "repository_id", "repository_owner", "repository_owner_id"];

export const OidcConditionsSchema = Type.Record(Type.String({ maxLength: 50 }), Type.String({ minLength: 1, maxLength: 500 }), {
  description: `Claim → pattern. A pattern matches the claim's string exactly, or with '*' as any run of characters (e.g. ref 'refs/tags/v*'). Claims: ${OIDC_CONDITION_CLAIMS.join(", ")}; at least one of ${PINNING_CLAIMS.join(", ")}`,
});

export const OidcTrustPolicySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  issuer: Type.String({ description: "The token's `iss`, exactly (an https URL)" }),
  audience: Type.String({ description: "The token's `aud` must contain it" }),
  conditions: OidcConditionsSchema,
  role: RoleSchema,
  created_at: Type.String({ format: "date-time" }),
});
export type OidcTrustPolicy = Static<typeof OidcTrustPolicySchema>;

export const OidcTrustPolicyCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    issuer: Type.String({ minLength: 1, maxLength: 500 }),
    audience: Type.String({ minLength: 1, maxLength: 500 }),
    conditions: OidcConditionsSchema,
    role: RoleSchema,
  },
  { additionalProperties: false },
);
export type OidcTrustPolicyCreate = Static<typeof OidcTrustPolicyCreateSchema>;

export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";

/**
 * Checks a new policy and answers it as stored: the issuer an https URL (http only when the server's
 * operator allows it, for tests), known claims, and at least one that pins who the token is about.
 */
export function validateTrustPolicy(input: OidcTrustPolicyCreate, options: { allowHttpIssuers: boolean }): OidcTrustPolicyCreate {
  let url: URL;
  try {
    url = new URL(input.issuer);
  } catch {
    throw new FerryError("validation_failed", `issuer '${input.issuer.slice(0, 200)}' is not a URL; give the token's 'iss' exactly, e.g. ${GITHUB_ACTIONS_ISSUER}`);
  }
  const httpOk = options.allowHttpIssuers && url.protocol === "http:";
  if (url.protocol !== "https:" && !httpOk) {
    throw new FerryError("validation_failed", `issuer '${input.issuer.slice(0, 200)}' must be an https URL (its keys are fetched from it), e.g. ${GITHUB_ACTIONS_ISSUER}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new FerryError("validation_failed", "the issuer URL must have no query, fragment or credentials; give the token's 'iss' exactly");
  }
  const unknown = Object.keys(input.conditions).filter((k) => !(OIDC_CONDITION_CLAIMS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new FerryError("validation_failed", `unknown claim(s) in conditions: ${unknown.join(", ")}; use ${OIDC_CONDITION_CLAIMS.join(", ")}`);
  }
  if (!PINNING_CLAIMS.some((k) => input.conditions[k] !== undefined)) {
    throw new FerryError(
      "validation_failed",
      `conditions must pin who the token is about with one of ${PINNING_CLAIMS.join(", ")} (e.g. repository=OWNER/REPO); without one every repository the issuer signs for would be trusted`,
    );
  }
  for (const [claim, pattern] of Object.entries(input.conditions)) {
    if (/^\*+$/.test(pattern)) throw new FerryError("validation_failed", `condition ${claim}='${pattern}' matches anything; leave the claim out instead, or narrow it`);
  }
  return input;
}

/** Exact match, or '*' as any run of characters (including '/'): `refs/heads/*`, `refs/tags/v*`. */
export function claimMatches(pattern: string, value: unknown): boolean {
  if (typeof value === "number" || typeof value === "boolean") value = String(value);
  if (typeof value !== "string") return false;
  if (!pattern.includes("*")) return pattern === value;
  const source = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${source}$`, "s").test(value);
}

/** A token's verified claims, as far as matching needs them. */
export interface OidcClaims {
  iss?: string;
  aud?: string | string[];
  [claim: string]: unknown;
}

/** Why no policy matched, for the server's log only (the caller learns nothing beyond a 401). */
export type TrustMatch<P> = { policy: P } | { reason: string };

/**
 * The policy a verified token's claims match: same issuer, its audience among the token's, every
 * condition met. When several match, the one with the strongest role, then the oldest, so the answer
 * does not depend on the order the store listed them in.
 */
export function matchTrustPolicy<P extends Pick<OidcTrustPolicy, "issuer" | "audience" | "conditions" | "role" | "created_at" | "name">>(
  policies: readonly P[],
  claims: OidcClaims,
): TrustMatch<P> {
  const audiences = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  const ofIssuer = policies.filter((p) => p.issuer === claims.iss);
  if (!ofIssuer.length) return { reason: `no trust policy for issuer ${String(claims.iss)}` };
  const ofAudience = ofIssuer.filter((p) => audiences.includes(p.audience));
  if (!ofAudience.length) return { reason: `no trust policy of issuer ${String(claims.iss)} has audience ${JSON.stringify(claims.aud)}` };
  const matching = ofAudience.filter((p) => Object.entries(p.conditions).every(([claim, pattern]) => claimMatches(pattern, claims[claim])));
  if (!matching.length) {
    const failed = ofAudience.map((p) => `${p.name}: ${Object.entries(p.conditions).filter(([c, pat]) => !claimMatches(pat, claims[c])).map(([c]) => c).join(",")}`);
    return { reason: `claims matched no policy (unmet conditions: ${failed.join("; ")})` };
  }
  const best = [...matching].sort((a, b) => ROLES.indexOf(b.role) - ROLES.indexOf(a.role) || a.created_at.localeCompare(b.created_at))[0]!;
  return { policy: best };
}
