import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

/**
 * A local OpenID Connect issuer for tests: serves its discovery document and its public keys (JWKS)
 * over http on 127.0.0.1, and signs tokens with its private keys, as GitHub's issuer signs a job's.
 * The server under test must allow http issuers (FERRY_OIDC_ALLOW_HTTP_ISSUERS).
 */
export async function startOidcIssuer() {
  const keys = new Map();
  let jwksRequests = 0;
  let published = new Set();
  const server = createServer((request, response) => {
    const send = (status, body) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.url === "/.well-known/openid-configuration") return send(200, { issuer: url, jwks_uri: `${url}/jwks` });
    if (request.url === "/jwks") {
      jwksRequests++;
      return send(200, { keys: [...keys.values()].filter((k) => published.has(k.kid)).map((k) => k.jwk) });
    }
    send(404, { error: "not found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  async function addKey(alg = "RS256", options = {}) {
    const kid = `key-${keys.size + 1}`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
    keys.set(kid, { kid, alg, privateKey, jwk });
    if (options.publish !== false) published.add(kid);
    return kid;
  }
  const first = await addKey("RS256");

  return {
    url,
    /** Makes a key; published in the JWKS unless `publish: false` (a key the issuer never announced). */
    addKey,
    /** Publishes only these keys from now on (a rotation). */
    publishOnly(kids) {
      published = new Set(kids);
    },
    get jwksRequests() {
      return jwksRequests;
    },
    /**
     * A signed token: `claims` are the payload (iss defaults to this issuer; `exp`/`iat` in seconds may
     * be given); `kid` picks the key (default the first).
     */
    async sign(claims, options = {}) {
      const key = keys.get(options.kid ?? first);
      const now = Math.floor(Date.now() / 1000);
      const payload = { iss: url, iat: now, exp: now + 300, ...claims };
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" }).sign(key.privateKey);
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
