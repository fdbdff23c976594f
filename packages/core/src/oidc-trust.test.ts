import { describe, expect, it } from "vitest";
import { claimMatches, GITHUB_ACTIONS_ISSUER, matchTrustPolicy, validateTrustPolicy, type OidcTrustPolicyCreate } from "./oidc-trust.js";
import { assertRole, roleAllows } from "./roles.js";
import { isFerryError } from "./errors.js";

const policy = (over: Partial<OidcTrustPolicyCreate & { created_at: string }> = {}) => ({
  name: "main",
  issuer: GITHUB_ACTIONS_ISSUER,
  audience: "ferry",
  conditions: { repository: "acme/etl", ref: "refs/heads/main" } as Record<string, string>,
  role: "deployer" as const,
  created_at: "2026-01-01T00:00:00.000Z",
  ...over,
});

const claims = (over: Record<string, unknown> = {}) => ({
  iss: GITHUB_ACTIONS_ISSUER,
  aud: "ferry",
  sub: "repo:acme/etl:ref:refs/heads/main",
  repository: "acme/etl",
  repository_owner: "acme",
  ref: "refs/heads/main",
  event_name: "push",
  ...over,
});

describe("claimMatches", () => {
  it("matches exactly without a '*'", () => {
    expect(claimMatches("acme/etl", "acme/etl")).toBe(true);
    expect(claimMatches("acme/etl", "acme/etl2")).toBe(false);
    expect(claimMatches("acme/etl", "ACME/etl")).toBe(false);
  });

  it("reads '*' as any run of characters, and nothing else as special", () => {
    expect(claimMatches("refs/tags/v*", "refs/tags/v1.2.3")).toBe(true);
    expect(claimMatches("refs/tags/v*", "refs/heads/v1")).toBe(false);
    expect(claimMatches("refs/heads/*", "refs/heads/feature/x")).toBe(true);
    expect(claimMatches("a.c*", "abc")).toBe(false);
    expect(claimMatches("(a|b)*", "a")).toBe(false);
  });

  it("never matches a missing or non-text claim, but compares numbers as text", () => {
    expect(claimMatches("x*", undefined)).toBe(false);
    expect(claimMatches("x", { x: 1 })).toBe(false);
    expect(claimMatches("123", 123)).toBe(true);
  });
});

describe("matchTrustPolicy", () => {
  it("matches a token whose issuer, audience and claims all fit", () => {
    const match = matchTrustPolicy([policy()], claims());
    expect(match).toEqual({ policy: policy() });
  });

  it("accepts an audience among several", () => {
    expect("policy" in matchTrustPolicy([policy()], claims({ aud: ["other", "ferry"] }))).toBe(true);
  });

  it.each([
    ["another issuer", claims({ iss: "https://evil.example" }), /no trust policy for issuer/],
    ["another audience", claims({ aud: "another-service.example" }), /audience/],
    ["another repository", claims({ repository: "acme/other" }), /unmet conditions: main: repository/],
    ["another branch", claims({ ref: "refs/heads/dev" }), /main: ref/],
    ["a missing claim", claims({ ref: undefined }), /main: ref/],
  ])("refuses %s, saying why for the log", (_what, token, reason) => {
    const match = matchTrustPolicy([policy()], token);
    expect("reason" in match && match.reason).toMatch(reason);
  });

  it("picks the strongest role among matching policies, whatever their order", () => {
    const viewer = policy({ name: "any-branch", role: "viewer", conditions: { repository: "acme/etl" } });
    const deployer = policy();
    expect(matchTrustPolicy([viewer, deployer], claims())).toEqual({ policy: deployer });
    expect(matchTrustPolicy([deployer, viewer], claims())).toEqual({ policy: deployer });
    expect(matchTrustPolicy([viewer, deployer], claims({ ref: "refs/heads/dev" }))).toEqual({ policy: viewer });
  });
});

describe("validateTrustPolicy", () => {
  const input = (over: Partial<OidcTrustPolicyCreate> = {}): OidcTrustPolicyCreate => {
    const { created_at: _c, ...rest } = policy();
    return { ...rest, ...over };
  };
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(isFerryError(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error("expected a refusal");
  };

  it("takes a GitHub policy as it is", () => {
    expect(validateTrustPolicy(input(), { allowHttpIssuers: false })).toEqual(input());
  });

  it("wants an https issuer unless the operator allows http", () => {
    expect(refusal(() => validateTrustPolicy(input({ issuer: "http://127.0.0.1:9999" }), { allowHttpIssuers: false }))).toMatch(/must be an https URL/);
    expect(validateTrustPolicy(input({ issuer: "http://127.0.0.1:9999" }), { allowHttpIssuers: true }).issuer).toBe("http://127.0.0.1:9999");
    expect(refusal(() => validateTrustPolicy(input({ issuer: "ftp://x" }), { allowHttpIssuers: true }))).toMatch(/https/);
    expect(refusal(() => validateTrustPolicy(input({ issuer: "not a url" }), { allowHttpIssuers: false }))).toMatch(/not a URL/);
  });

  it("refuses unknown claims, conditions that pin no repository, and match-all patterns", () => {
    expect(refusal(() => validateTrustPolicy(input({ conditions: { repository: "a/b", colour: "red" } }), { allowHttpIssuers: false }))).toMatch(/unknown claim.*colour/);
    expect(refusal(() => validateTrustPolicy(input({ conditions: { ref: "refs/heads/main" } }), { allowHttpIssuers: false }))).toMatch(/must pin/);
    expect(refusal(() => validateTrustPolicy(input({ conditions: { repository: "*" } }), { allowHttpIssuers: false }))).toMatch(/matches anything/);
  });
});

describe("roles", () => {
  it("orders viewer < runner < deployer < admin", () => {
    expect(roleAllows("admin", "deployer")).toBe(true);
    expect(roleAllows("deployer", "runner")).toBe(true);
    expect(roleAllows("runner", "deployer")).toBe(false);
    expect(roleAllows("viewer", "runner")).toBe(false);
  });

  it("refuses with a 403 naming the role needed and the role held", () => {
    try {
      assertRole("runner", "deployer", "PUT /api/deployments");
      throw new Error("expected a refusal");
    } catch (error) {
      expect(isFerryError(error) && error.status).toBe(403);
      expect((error as Error).message).toMatch(/needs the 'deployer' role; this credential has 'runner'/);
      expect((error as { details: unknown }).details).toEqual({ needed_role: "deployer", held_role: "runner" });
    }
  });
});
