import { createServer } from "node:http";
import type { OidcIssuer } from "../../../test-support/oidc-issuer.js";

export interface IdTokenEndpoint {
  url: string;
  /** The ACTIONS_ID_TOKEN_REQUEST_TOKEN of a job whose token carries these claims. */
  requestTokenFor(job: { repository: string; ref: string }): string;
  /** What each request asked for, and whether it carried a known request token. */
  requests: { audience: string | null; authorized: boolean }[];
  close(): Promise<void>;
}

/**
 * Plays the runner's ACTIONS_ID_TOKEN_REQUEST_URL: `GET ?audience=…` with the job's request token as a
 * bearer answers `{ "value": <ID token> }`, signed by the local issuer with GitHub's claims for the job.
 */
export async function startIdTokenEndpoint(issuer: OidcIssuer): Promise<IdTokenEndpoint> {
  const jobs = new Map<string, { repository: string; ref: string }>();
  const requests: IdTokenEndpoint["requests"] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const bearer = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
    const job = jobs.get(bearer);
    const audience = url.searchParams.get("audience");
    requests.push({ audience, authorized: job !== undefined });
    if (!job || url.pathname !== "/token") {
      response.writeHead(401, { "content-type": "application/json" });
      response.end(JSON.stringify({ message: "bad request token" }));
      return;
    }
    const [owner] = job.repository.split("/");
    void issuer
      .sign({
        aud: audience ?? "https://github.com/" + owner,
        sub: `repo:${job.repository}:ref:${job.ref}`,
        repository: job.repository,
        repository_owner: owner,
        ref: job.ref,
        event_name: "push",
      })
      .then((value) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ value }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    requests,
    requestTokenFor(job) {
      const token = `request-${jobs.size + 1}`;
      jobs.set(token, job);
      return token;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
