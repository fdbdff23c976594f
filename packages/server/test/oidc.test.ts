import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnsecuredJWT } from "jose";
import { FerryClient, type Deployment } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { startOidcIssuer, type OidcIssuer } from "../../../test-support/oidc-issuer.js";
import { EXCHANGE_REFUSED } from "../src/services/oidc.js";
import { expectErrorShape } from "./support/error-shape.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * Sign-in by OIDC against a real server and a local issuer (discovery document and JWKS over http,
 * keys made and tokens signed with jose): what a GitHub Actions job with `id-token: write` does.
 */
describe("OIDC trust policies and the token exchange (PGlite)", () => {
  let t: TestServer;
  let issuer: OidcIssuer;
  let workspaceId: string;
  let deployment: Deployment;
  /** Added to the server's clock: moves it past an access token's expiry. */
  let skewMs = 0;

  const claims = (over: Record<string, unknown> = {}) => ({
    aud: "ferry",
    sub: "repo:acme/etl:ref:refs/heads/main",
    repository: "acme/etl",
    repository_owner: "acme",
    ref: "refs/heads/main",
    event_name: "push",
    ...over,
  });

  const exchange = (token: string, workspace = workspaceId) => t.client.api.exchangeOidcToken({ body: { token, workspace } });
  const exchangeRaw = async (token: string, workspace = workspaceId) => {
    const response = await fetch(`${t.server.url}/api/auth/oidc/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, workspace }),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const clientWith = (token: string) => new FerryClient({ apiUrl: t.server.url, apiKey: token });

  beforeAll(async () => {
    issuer = await startOidcIssuer();
    t = await startTestServer("pglite", { oidcAllowHttpIssuers: true, oidcKeysCooldownMs: 0, now: () => new Date(Date.now() + skewMs) });
    workspaceId = (await t.client.api.getWorkspace()).id;
        // Paused: runs wait in SCHEDULED, so a runner's cancel has something to cancel.
    await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push", paused: true } });
    deployment = (
      await t.client.api.applyDeployment({
        body: { flow_name: "etl", name: "nightly", work_pool: "push", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
      })
    ).deployment;
    await t.client.api.createOidcTrustPolicy({
      body: { name: "main", issuer: issuer.url, audience: "ferry", conditions: { repository: "acme/etl", ref: "refs/heads/main" }, role: "deployer" },
    });
    await t.client.api.createOidcTrustPolicy({
      body: { name: "pull-requests", issuer: issuer.url, audience: "ferry", conditions: { repository: "acme/etl", event_name: "pull_request" }, role: "runner" },
    });
    await t.client.api.createOidcTrustPolicy({
      body: { name: "readers", issuer: issuer.url, audience: "ferry-read", conditions: { repository_owner: "acme" }, role: "viewer" },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await issuer?.close();
  });

  it("lists, refuses a duplicate and an unsafe policy, and deletes", async () => {
    const page = await t.client.api.listOidcTrustPolicies();
    expect(page.items.map((p) => [p.name, p.role])).toEqual([["main", "deployer"], ["pull-requests", "runner"], ["readers", "viewer"]]);
    const duplicate = await rejection(
      t.client.api.createOidcTrustPolicy({ body: { name: "main", issuer: issuer.url, audience: "x", conditions: { repository: "a/b" }, role: "viewer" } }),
    );
    expect(duplicate.code).toBe("conflict");
    const unpinned = await rejection(
      t.client.api.createOidcTrustPolicy({ body: { name: "all", issuer: issuer.url, audience: "x", conditions: { ref: "refs/heads/main" }, role: "admin" } }),
    );
    expect(unpinned.message).toMatch(/must pin/);
    await t.client.api.createOidcTrustPolicy({ body: { name: "temp", issuer: issuer.url, audience: "x", conditions: { repository: "a/b" }, role: "viewer" } });
    await t.client.api.deleteOidcTrustPolicy({ params: { name: "temp" } });
    expect((await rejection(t.client.api.deleteOidcTrustPolicy({ params: { name: "temp" } }))).code).toBe("not_found");
  });

  it("exchanges a matching token for an access token that works with its policy's role only", async () => {
    const answer = await exchange(await issuer.sign(claims()));
    expect(answer).toMatchObject({ token_type: "Bearer", role: "deployer", workspace_id: workspaceId });
    expect(answer.access_token).toMatch(/^fo_/);
    const expiresIn = Date.parse(answer.expires_at) - Date.now();
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000 + 5000);

    const deployer = clientWith(answer.access_token);
    // deployer: deploys and runs, reads; no pools, credentials, keys or policies.
    const applied = await deployer.api.applyDeployment({
      body: { flow_name: "etl", name: "nightly", work_pool: "push", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl", description: "by OIDC" },
    });
    expect(applied.action).toBe("updated");
    const { flow_run } = await deployer.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    expect((await deployer.api.getFlowRun({ params: { id: flow_run.id } })).id).toBe(flow_run.id);
    await deployer.api.cancelFlowRun({ params: { id: flow_run.id }, body: {} });
    for (const call of [
      () => deployer.api.createWorkPool({ body: { name: "other", type: "fake:push" } }),
      () => deployer.api.createApiKey({ body: { name: "escalate" } }),
      () => deployer.api.listOidcTrustPolicies(),
      () => deployer.api.createCredentials({ body: { name: "c", type: "keypair", data: {} } }),
    ]) {
      const refused = await rejection(call());
      expect(refused.code).toBe("forbidden");
      expect(refused.message).toMatch(/needs the 'admin' role; this credential has 'deployer'/);
    }
  });

  it("lets a deployer attach git credentials only when they are bound to the source's host", async () => {
    const deployer = clientWith((await exchange(await issuer.sign(claims()))).access_token);
    await t.client.api.createCredentials({ body: { name: "any-host", type: "git", data: { token: "ghp_unbound" } } });
    await t.client.api.createCredentials({ body: { name: "github", type: "git", data: { token: "ghp_bound", host: "github.com" } } });
    const apply = (credentials: string, git_url: string) =>
      deployer.api.applyDeployment({
        body: { flow_name: "etl", name: "with-token", work_pool: "push", source: { git_url, credentials }, entrypoint: "flows/etl.py:etl" },
      });
    // Unbound: the deployer could point the source at a server of its own and receive the token.
    const unbound = await rejection(apply("any-host", "https://github.com/acme/flows.git"));
    expect(unbound.code).toBe("forbidden");
    expect(unbound.message).toMatch(/'any-host' name no host.*--field host=HOST/);
    const elsewhere = await rejection(apply("github", "https://attacker.example/acme/flows.git"));
    expect(elsewhere.code).toBe("validation_failed");
    expect(elsewhere.message).toMatch(/may only be sent to github\.com, and source\.git_url is on attacker\.example/);
    expect((await apply("github", "https://github.com/acme/flows.git")).deployment.source.credentials).toBe("github");
    // An admin may still attach unbound credentials (its own choice), but never bound ones elsewhere.
    await t.client.api.applyDeployment({
      body: { flow_name: "etl", name: "admin-token", work_pool: "push", source: { git_url: "https://git.example/x.git", credentials: "any-host" }, entrypoint: "flows/etl.py:etl" },
    });
    expect((await rejection(t.client.api.applyDeployment({
      body: { flow_name: "etl", name: "admin-token", work_pool: "push", source: { git_url: "https://git.example/x.git", credentials: "github" }, entrypoint: "flows/etl.py:etl" },
    }))).code).toBe("validation_failed");
  });

  it("gives a runner runs but not deployments, and a viewer reads only, each refusal a 403 naming both roles", async () => {
    const runner = clientWith((await exchange(await issuer.sign(claims({ event_name: "pull_request", ref: "refs/pull/7/merge" })))).access_token);
    const { flow_run } = await runner.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    await runner.api.cancelFlowRun({ params: { id: flow_run.id }, body: {} });
    const response = await fetch(`${t.server.url}/api/deployments/${deployment.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${(await exchange(await issuer.sign(claims({ event_name: "pull_request", ref: "refs/pull/7/merge" })))).access_token}` },
    });
    const error = expectErrorShape(403, await response.json());
    expect(error.message).toMatch(/DELETE \/api\/deployments\/\{id\} needs the 'deployer' role; this credential has 'runner'/);

    const viewerAnswer = await exchange(await issuer.sign(claims({ aud: "ferry-read", repository: "acme/docs", ref: "refs/heads/dev" })));
    expect(viewerAnswer.role).toBe("viewer");
    const viewer = clientWith(viewerAnswer.access_token);
    expect((await viewer.api.getDeployment({ params: { id: deployment.id } })).id).toBe(deployment.id);
    expect((await viewer.api.listFlowRuns()).items.length).toBeGreaterThan(0);
    const refused = await rejection(viewer.api.createFlowRun({ params: { id: deployment.id }, body: {} }));
    expect(refused.code).toBe("forbidden");
    expect(refused.details).toEqual({ needed_role: "runner", held_role: "viewer" });
  });

  it("never lets a token pick a workspace whose own policies it does not match", async () => {
    const other = await t.admin.api.adminCreateWorkspace({ body: { name: "other" } });
    const otherClient = clientWith(other.api_key.key);
    await otherClient.api.createOidcTrustPolicy({
      body: { name: "theirs", issuer: issuer.url, audience: "ferry", conditions: { repository: "other/repo" }, role: "admin" },
    });
    const token = await issuer.sign(claims());
    const { status, body } = await exchangeRaw(token, other.workspace.id);
    expect(status).toBe(401);
    expect(expectErrorShape(401, body).message).toBe(EXCHANGE_REFUSED);
    expect((await exchange(token)).workspace_id).toBe(workspaceId);
  });

  it("keeps today's API keys admin", async () => {
    expect((await t.client.api.listOidcTrustPolicies()).items.length).toBe(3);
  });

  describe("refuses, always with the same 401, and logs why", () => {
    const refusals: [string, () => Promise<string>, RegExp, string?][] = [
      ["a wrong audience", () => issuer.sign(claims({ aud: "another-service.example" })), /aud.{0,3} claim value/],
      ["another issuer", () => issuer.sign(claims({ iss: "https://token.actions.githubusercontent.com" })), /no trust policy for issuer/],
      ["an expired token", () => issuer.sign(claims({ exp: Math.floor(Date.now() / 1000) - 120, iat: Math.floor(Date.now() / 1000) - 600 })), /exp/],
      ["a token not valid yet", () => issuer.sign(claims({ nbf: Math.floor(Date.now() / 1000) + 600 })), /nbf/],
      ["an unmatched repository", () => issuer.sign(claims({ repository: "mallory/etl", repository_owner: "mallory" })), /unmet conditions/],
      ["an unmatched branch", () => issuer.sign(claims({ ref: "refs/heads/dev" })), /unmet conditions/],
      ["alg none", async () => new UnsecuredJWT({ ...claims(), iss: issuer.url }).setIssuedAt().setExpirationTime("5m").encode(), /verification failed/],
      ["a key the issuer never published", async () => issuer.sign(claims(), { kid: await issuer.addKey("RS256", { publish: false }) }), /verification failed/],
      ["an unknown workspace", () => issuer.sign(claims()), /no such workspace/, "00000000-0000-7000-8000-000000000000"],
      ["a workspace that is not an id", () => issuer.sign(claims()), /no such workspace/, "acme"],
      ["a token that is not a JWT", async () => "not.a.jwt", /not a JWT/],
    ];
    it.each(refusals)("%s", async (_what, token, reason, workspace) => {
      const before = t.logs().length;
      const { status, body } = await exchangeRaw(await token(), workspace);
      const error = expectErrorShape(401, body);
      expect(error.message).toBe(EXCHANGE_REFUSED);
      const logged = t.logs().slice(before);
      expect(logged).toContain("OIDC token exchange refused");
      expect(logged).toMatch(reason);
      expect(status).toBe(401);
    });
  });

  it("verifies ES256 tokens and follows a key rotation without a restart", async () => {
    const es = await issuer.addKey("ES256");
    issuer.publishOnly([es]);
    const answer = await exchange(await issuer.sign(claims(), { kid: es }));
    expect(answer.role).toBe("deployer");
  });

  it("refuses an access token once it expired, or once its policy is deleted", async () => {
    issuer.publishOnly(["key-1"]);
    const token = (await exchange(await issuer.sign(claims({ aud: "ferry-read" })))).access_token;
    const viewer = clientWith(token);
    await viewer.api.getWorkspace();
    skewMs = 15 * 60_000 + 1000;
    try {
      const expired = await rejection(viewer.api.getWorkspace());
      expect(expired.code).toBe("unauthenticated");
      expect(expired.message).toMatch(/access token has expired/);
    } finally {
      skewMs = 0;
    }
    const again = clientWith((await exchange(await issuer.sign(claims({ aud: "ferry-read" })))).access_token);
    await again.api.getWorkspace();
    await t.client.api.deleteOidcTrustPolicy({ params: { name: "readers" } });
    expect((await rejection(again.api.getWorkspace())).code).toBe("unauthenticated");
  });

  it("never writes a token into the log", async () => {
    const id = await issuer.sign(claims());
    const access = (await exchange(id)).access_token;
    await clientWith(access).api.getWorkspace();
    expect(t.logs()).not.toContain(id);
    expect(t.logs()).not.toContain(access);
  });

  // Last in this server's tests: it leaves the test client's address refused for a minute.
  it("refuses an address for the minute after 20 refused exchanges, even with a good token", async () => {
    let answer = "";
    for (let attempt = 0; attempt < 25 && !answer.startsWith("too many"); attempt++) {
      answer = (await rejection(exchange(await issuer.sign(claims({ repository: "mallory/etl" }))))).message;
    }
    expect(answer).toBe("too many refused token exchanges from this address; wait a minute, then exchange an ID token a trust policy of the workspace matches");
    expect((await rejection(exchange(await issuer.sign(claims())))).message).toMatch(/^too many refused token exchanges/);
    // API keys are a separate door: their sign-ins are not refused by it.
    expect((await t.client.api.getWorkspace()).id).toBe(workspaceId);
  });
});

describe("OIDC issuers over http", () => {
  it("are refused unless the operator allows them (FERRY_OIDC_ALLOW_HTTP_ISSUERS)", async () => {
    const t = await startTestServer("pglite");
    try {
      const refused = await rejection(
        t.client.api.createOidcTrustPolicy({ body: { name: "local", issuer: "http://127.0.0.1:1", audience: "ferry", conditions: { repository: "a/b" }, role: "viewer" } }),
      );
      expect(refused.code).toBe("validation_failed");
      expect(refused.message).toMatch(/must be an https URL/);
    } finally {
      await t.stop();
    }
  }, 120_000);
});
