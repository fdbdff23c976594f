import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionInputError } from "./inputs.js";
import { signIn, type SignInDeps } from "./sign-in.js";

const WS = "0191d2a0-0000-7000-8000-000000000001";

/** A stand-in for the token exchange only (the whole path against a real server is test/action.test.ts). */
let exchangeServer: Server;
let apiUrl: string;
let exchanges: { token: string; workspace: string }[] = [];
let accept = true;

beforeAll(async () => {
  exchangeServer = createServer((request, response) => {
    let body = "";
    request.on("data", (d: Buffer) => (body += d.toString()));
    request.on("end", () => {
      if (request.url === "/api/auth/oidc/token") {
        const parsed = JSON.parse(body) as { token: string; workspace: string };
        exchanges.push(parsed);
        response.writeHead(accept ? 200 : 401, { "content-type": "application/json" });
        response.end(
          JSON.stringify(
            accept
              ? { access_token: `fo_${exchanges.length}`.padEnd(48, "x"), token_type: "Bearer", expires_at: new Date(Date.now() + 15 * 60_000).toISOString(), role: "deployer", workspace_id: parsed.workspace }
              : { error: { code: "unauthenticated", message: "the OIDC token was not accepted" } },
          ),
        );
        return;
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ authorization: request.headers.authorization }));
    });
  });
  await new Promise<void>((resolve) => exchangeServer.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(exchangeServer.address() as { port: number }).port}`;
});
afterAll(() => new Promise((resolve) => exchangeServer.close(resolve)));

function deps(over: Partial<SignInDeps> = {}) {
  const secrets: string[] = [];
  const warnings: string[] = [];
  const scheduled: { fn: () => void; ms: number }[] = [];
  const audiences: string[] = [];
  const d: SignInDeps = {
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: "http://127.0.0.1:9/token?api-version=2.0", GITHUB_REPOSITORY: "acme/etl", GITHUB_REF: "refs/heads/main" },
    getIDToken: async (audience) => {
      audiences.push(audience);
      return `id-token-${audiences.length}`;
    },
    setSecret: (v) => secrets.push(v),
    warning: (m) => warnings.push(m),
    schedule: (fn, ms) => scheduled.push({ fn, ms }),
    ...over,
  };
  return { d, secrets, warnings, scheduled, audiences };
}

const whoAmI = async (client: Awaited<ReturnType<typeof signIn>>) =>
  // Any route answers the stand-in's echo of the Authorization header.
  ((await client.api.getWorkspace()) as unknown as { authorization: string }).authorization;

describe("signIn", () => {
  it("uses the API key when one is given, without asking for an ID token", async () => {
    const { d, audiences } = deps();
    const client = await signIn({ apiUrl, apiKey: "fy_key", workspace: null, oidcAudience: "ferry" }, d);
    expect(await whoAmI(client)).toBe("Bearer fy_key");
    expect(audiences).toEqual([]);
  });

  it("without a key, exchanges the job's ID token for the audience, masks both tokens, and renews before expiry", async () => {
    exchanges = [];
    const { d, secrets, scheduled, audiences } = deps();
    const client = await signIn({ apiUrl, apiKey: null, workspace: WS, oidcAudience: "ferry" }, d);
    expect(audiences).toEqual(["ferry"]);
    expect(exchanges).toEqual([{ token: "id-token-1", workspace: WS }]);
    const first = await whoAmI(client);
    expect(first).toMatch(/^Bearer fo_1x+$/);
    expect(secrets).toEqual(["id-token-1", first.slice(7)]);
    // Renewed about three minutes before the 15 minutes are up.
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]!.ms).toBeGreaterThan(11 * 60_000);
    expect(scheduled[0]!.ms).toBeLessThanOrEqual(12 * 60_000);
    scheduled[0]!.fn();
    await expect.poll(() => exchanges.length).toBe(2);
    await expect.poll(() => whoAmI(client)).toMatch(/^Bearer fo_2x+$/);
  });

  it("says what is missing when it can sign in neither way", async () => {
    await expect(signIn({ apiUrl, apiKey: null, workspace: WS, oidcAudience: "ferry" }, deps({ env: {} }).d)).rejects.toThrow(
      /input 'api-key' is empty and the job cannot sign in by OIDC .*id-token: write/,
    );
    const noWorkspace = signIn({ apiUrl, apiKey: null, workspace: null, oidcAudience: "ferry" }, deps().d);
    await expect(noWorkspace).rejects.toBeInstanceOf(ActionInputError);
    await expect(noWorkspace).rejects.toThrow(/input 'workspace' is required to sign in by OIDC/);
    const noToken = deps({ getIDToken: async () => Promise.reject(new Error("Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable")) }).d;
    await expect(signIn({ apiUrl, apiKey: null, workspace: WS, oidcAudience: "ferry" }, noToken)).rejects.toThrow(/could not get the job's OIDC token.*id-token: write/);
  });

  it("names the trust policy to add when Ferry refuses the token", async () => {
    accept = false;
    try {
      await expect(signIn({ apiUrl, apiKey: null, workspace: WS, oidcAudience: "ferry" }, deps().d)).rejects.toThrow(
        /Ferry did not accept this job's OIDC token \(audience 'ferry', repository acme\/etl, ref refs\/heads\/main\).*ferry oidc-trust create ci --claim repository=acme\/etl/,
      );
    } finally {
      accept = true;
    }
  });
});
