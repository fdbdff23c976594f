import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FerryError } from "../errors.js";
import { LIMITS } from "../limits.js";
import type { FlowRunEvent } from "../models.js";
import { defaultStateName, type StateType } from "../states.js";
import { FerryClient } from "./client.js";
import { ROUTES, routePath, type RouteName } from "./routes.js";

/** What the canned server saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (req: Seen, res: ServerResponse, index: number) => void;

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A real HTTP server on 127.0.0.1 that records each request and answers it with `handler`. */
async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      seen.push(request);
      handler(request, res, seen.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected the call to fail");
}

const RUN_ID = "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const DEPLOYMENT_ID = "0195a1b2-0000-7000-8000-00000000000d";
const AT = "2026-03-01T10:00:00.000Z";

function stateEvent(id: string, type: StateType): FlowRunEvent {
  return { kind: "state", id, flow_run_id: RUN_ID, state: { id: `h-${id}`, type, name: defaultStateName(type), message: null, timestamp: AT } };
}

function logEvent(id: string, message: string): FlowRunEvent {
  return { kind: "log", id, flow_run_id: RUN_ID, log: { id, flow_run_id: RUN_ID, level: "info", message, timestamp: AT, source: "flow" } };
}

/** The wire form the server writes for a run's event. */
function sse(event: FlowRunEvent): string {
  return `id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`;
}

const END = "event: end\ndata: {}\n\n";

function startStream(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  res.flushHeaders();
}

async function collect(events: AsyncIterable<FlowRunEvent>): Promise<FlowRunEvent[]> {
  const out: FlowRunEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const deployment = (overrides: Record<string, unknown> = {}) => ({
  id: DEPLOYMENT_ID,
  flow_name: "etl",
  name: "nightly",
  work_pool: "my-pool",
  source: { git_url: "https://github.com/acme/flows.git" },
  entrypoint: "flows/etl.py:run",
  job_variables: {},
  parameters: {},
  parameter_schema: null,
  pull_steps: null,
  tags: [],
  description: null,
  paused: false,
  created_at: AT,
  updated_at: AT,
  ...overrides,
});

describe("FerryClient", () => {
  it("needs an API URL, saying how to give one", () => {
    const error = (() => {
      try {
        new FerryClient({ apiUrl: "" });
      } catch (e) {
        return e as FerryError;
      }
      throw new Error("expected an error");
    })();
    expect(error).toBeInstanceOf(FerryError);
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("the Ferry API URL is not set; pass --api-url or set FERRY_API_URL");
  });

  it.each([
    ["localhost:4200", "http://localhost:4200"],
    ["127.0.0.1:4200/", "http://127.0.0.1:4200/"],
    ["ftp://ferry.example.com", "https://ferry.example.com"],
  ])("refuses the URL %s without an http(s) scheme, saying to add one", (apiUrl, example) => {
    let error: FerryError | undefined;
    try {
      new FerryClient({ apiUrl });
    } catch (e) {
      error = e as FerryError;
    }
    expect(error?.code).toBe("validation_failed");
    expect(error?.message).toBe(`the Ferry API URL '${apiUrl}' has no http:// or https:// scheme; add http:// or https:// (e.g. ${example})`);
  });

  it("takes http and https URLs in any case", () => {
    expect(new FerryClient({ apiUrl: "HTTPS://ferry.example.com/" }).apiUrl).toBe("HTTPS://ferry.example.com");
    expect(new FerryClient({ apiUrl: "http://[::1]:4200" }).apiUrl).toBe("http://[::1]:4200");
  });

  it("has one method per route", () => {
    const client = new FerryClient({ apiUrl: "http://127.0.0.1:1" });
    expect(Object.keys(client.api).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it("calls every route with its method and path", async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    const client = new FerryClient({ apiUrl: server.url });
    const names = Object.keys(ROUTES) as RouteName[];
    for (const name of names) {
      const route = ROUTES[name];
      const params = "params" in route ? { id: "p-1", name: "p-1", schedule: "s-1" } : undefined;
      const body = "body" in route ? {} : undefined;
      await (client.api[name] as (input: unknown) => Promise<unknown>)({ params, body });
    }
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual(
      names.map((name) => `${ROUTES[name].method} ${routePath(ROUTES[name].path, { id: "p-1", name: "p-1", schedule: "s-1" })}`),
    );
  });

  it("drops trailing slashes from the API URL", async () => {
    const server = await serve((_req, res) => json(res, 200, { items: [] }));
    const client = new FerryClient({ apiUrl: `${server.url}///` });
    expect(client.apiUrl).toBe(server.url);
    await client.api.listWorkPools();
    expect(server.seen[0]!.url).toBe("/api/work-pools");
  });

  it("encodes path parameters into their segment", async () => {
    const server = await serve((_req, res) => json(res, 200, { name: "ok" }));
    const client = new FerryClient({ apiUrl: server.url });
    const pool = await client.api.getWorkPool({ params: { name: "a b/c?d" } });
    expect(server.seen[0]!.url).toBe("/api/work-pools/a%20b%2Fc%3Fd");
    expect(server.seen[0]!.method).toBe("GET");
    expect(pool).toEqual({ name: "ok" });
  });

  it("builds the query string, leaving out unset values and joining lists", async () => {
    const server = await serve((_req, res) => json(res, 200, { items: [], next_cursor: null }));
    const client = new FerryClient({ apiUrl: server.url });
    await client.api.listFlowRuns({ query: { state: ["RUNNING", "PENDING"] as unknown as string, limit: 10, cursor: undefined, work_pool: "p&q" } });
    await client.api.listFlowRuns({ query: { cursor: undefined } });
    await client.api.listFlowRuns();
    expect(server.seen.map((s) => s.url)).toEqual(["/api/flow-runs?state=RUNNING%2CPENDING&limit=10&work_pool=p%26q", "/api/flow-runs", "/api/flow-runs"]);
    expect(new URL(server.seen[0]!.url, server.url).searchParams.get("state")).toBe("RUNNING,PENDING");
  });

  it("walks every page of a list with paginate, passing each next_cursor back and the filters on every page", async () => {
    // Seven pools served two at a time; the cursor is the index of the next one.
    const names = ["a", "b", "c", "d", "e", "f", "g"];
    const server = await serve((req, res) => {
      const url = new URL(req.url, "http://x");
      const from = Number(url.searchParams.get("cursor") ?? 0);
      const limit = Number(url.searchParams.get("limit"));
      const next = from + limit < names.length ? String(from + limit) : null;
      json(res, 200, { items: names.slice(from, from + limit).map((name) => ({ name })), next_cursor: next, ...(url.searchParams.has("include_total") ? { total: 7, total_is_estimate: false } : {}) });
    });
    const client = new FerryClient({ apiUrl: server.url });
    const seen: string[] = [];
    for await (const pool of client.paginate.listDeployments({ query: { limit: 2, work_pool: "main", include_total: true } })) seen.push(pool.name);
    expect(seen).toEqual(names);
    expect(server.seen.map((s) => s.url)).toEqual([
      "/api/deployments?limit=2&work_pool=main&include_total=true",
      // The total is asked for once, not on every page.
      "/api/deployments?limit=2&work_pool=main&cursor=2",
      "/api/deployments?limit=2&work_pool=main&cursor=4",
      "/api/deployments?limit=2&work_pool=main&cursor=6",
    ]);
  });

  it("stops paginate at max items, asking the last page for only what is missing", async () => {
    const server = await serve((req, res) => {
      const url = new URL(req.url, "http://x");
      const from = Number(url.searchParams.get("cursor") ?? 0);
      const limit = Number(url.searchParams.get("limit"));
      json(res, 200, { items: Array.from({ length: limit }, (_, i) => ({ name: `p${from + i}` })), next_cursor: String(from + limit) });
    });
    const client = new FerryClient({ apiUrl: server.url });
    const pools = await client.listAll.listWorkPools({ query: { limit: 4 } }, { max: 6 });
    expect(pools.map((p) => p.name)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5"]);
    expect(server.seen.map((s) => s.url)).toEqual(["/api/work-pools?limit=4", "/api/work-pools?limit=2&cursor=4"]);
    // Without a limit, pages are as large as the API allows; an empty page ends the walk.
    const empty = await serve((_req, res) => json(res, 200, { items: [], next_cursor: "again" }));
    expect(await new FerryClient({ apiUrl: empty.url }).listAll.listApiKeys()).toEqual([]);
    expect(empty.seen.map((s) => s.url)).toEqual([`/api/api-keys?limit=${LIMITS.pageItems}`]);
  });

  it("sends a JSON body with its content type", async () => {
    const server = await serve((req, res) => json(res, 201, { id: "w1", echoed: JSON.parse(req.body) as unknown }));
    const client = new FerryClient({ apiUrl: server.url, apiKey: "fk_test" });
    const body = { name: "my-pool", type: "acme:push", concurrency_limit: 3, base_job_template: { variables: { type: "object" as const, properties: {} }, job_configuration: {} } };
    const created = await client.api.createWorkPool({ body });
    const seen = server.seen[0]!;
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/api/work-pools");
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers.accept).toBe("application/json");
    expect(JSON.parse(seen.body)).toEqual(body);
    expect(created).toEqual({ id: "w1", echoed: body });
  });

  it("sends no body and no content type without one", async () => {
    const server = await serve((_req, res) => json(res, 200, { deleted: true }));
    await new FerryClient({ apiUrl: server.url }).api.deleteWorkPool({ params: { name: "p" } });
    expect(server.seen[0]!.method).toBe("DELETE");
    expect(server.seen[0]!.body).toBe("");
    expect(server.seen[0]!.headers["content-type"]).toBeUndefined();
  });

  it("sends the API key as a bearer token, and the admin token on /api/admin routes", async () => {
    const server = await serve((_req, res) => json(res, 200, { items: [] }));
    const client = new FerryClient({ apiUrl: server.url, apiKey: "fk_key", adminToken: "admin-secret", userAgent: "ferry-cli/1.2.3" });
    await client.api.listWorkPools();
    await client.api.adminListWorkspaces();
    await client.api.adminUpdateWorkspace({ params: { id: "w" }, body: { tier: "pro" } });
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(["Bearer fk_key", "Bearer admin-secret", "Bearer admin-secret"]);
    expect(server.seen[0]!.headers["user-agent"]).toBe("ferry-cli/1.2.3");
  });

  it("never sends the API key to an admin route, nor the admin token elsewhere", async () => {
    const server = await serve((_req, res) => json(res, 200, { items: [] }));
    await new FerryClient({ apiUrl: server.url, apiKey: "fk_key" }).api.adminListWorkspaces();
    await new FerryClient({ apiUrl: server.url, adminToken: "admin-secret" }).api.listWorkPools();
    await new FerryClient({ apiUrl: server.url }).api.listWorkPools();
    expect(server.seen.map((s) => s.headers.authorization)).toEqual([undefined, undefined, undefined]);
  });

  describe("errors", () => {
    it("turns the server's error JSON into a FerryError with its code, message and details", async () => {
      const server = await serve((_req, res) =>
        json(res, 409, { error: { code: "invalid_transition", message: "flow run r cannot move to RUNNING: it is already COMPLETED, a final state", details: { from: "COMPLETED", to: "RUNNING" } } }),
      );
      const client = new FerryClient({ apiUrl: server.url });
      const error = await rejection(client.api.setFlowRunState({ params: { id: RUN_ID }, body: { type: "RUNNING" } }));
      expect(error.code).toBe("invalid_transition");
      expect(error.status).toBe(409);
      expect(error.retryable).toBe(false);
      expect(error.message).toBe("flow run r cannot move to RUNNING: it is already COMPLETED, a final state");
      expect(error.details).toEqual({ from: "COMPLETED", to: "RUNNING" });
    });

    it("keeps the retryability of the server's code", async () => {
      const server = await serve((_req, res) => json(res, 503, { error: { code: "provider_throttled", message: "the cloud is throttling; retry" } }));
      const error = await rejection(new FerryClient({ apiUrl: server.url }).api.getQuota());
      expect(error.code).toBe("provider_throttled");
      expect(error.retryable).toBe(true);
    });

    it.each([
      [401, "unauthenticated", "Unauthorized"],
      // A bare 404 is another server: see "says a server answering a bare 404 is not a Ferry server".
      [500, "unavailable", "Internal Server Error"],
      [502, "unavailable", "Bad Gateway"],
      [503, "unavailable", "Service Unavailable"],
      [418, "internal", "I'm a Teapot"],
    ])("maps a bare %i to %s", async (status, code, text) => {
      const server = await serve((_req, res) => {
        res.writeHead(status, { "content-type": "text/html" });
        res.end("<html>proxy error</html>");
      });
      const error = await rejection(new FerryClient({ apiUrl: server.url }).api.getWorkspace());
      expect(error.code).toBe(code);
      expect(error.message).toBe(`the server answered ${status} ${text}`);
    });

    it("does not trust error JSON with an unknown code or no message", async () => {
      const server = await serve((_req, res, i) =>
        i === 0 ? json(res, 404, { error: { code: "gone", message: "m" } }) : json(res, 401, { error: { code: "forbidden" } }),
      );
      const client = new FerryClient({ apiUrl: server.url });
      expect((await rejection(client.api.getWorkspace())).code).toBe("not_found");
      const second = await rejection(client.api.getWorkspace());
      expect(second.code).toBe("unauthenticated");
      expect(second.message).toBe("the server answered 401 Unauthorized");
    });

    // A proxy in front of the server answers these without Ferry's JSON. The status still says what
    // happened: a batch of logs too large (split it), a proxy's rate limit (retry later), a refusal.
    it.each([
      [400, "validation_failed", false],
      [403, "forbidden", false],
      [409, "conflict", false],
      [413, "payload_too_large", false],
      [429, "unavailable", true],
    ])("maps a bare %i to %s", async (status, code, retryable) => {
      const server = await serve((_req, res) => {
        res.writeHead(status, { "content-type": "text/html" });
        res.end("<html>nginx</html>");
      });
      const error = await rejection(new FerryClient({ apiUrl: server.url }).api.getWorkspace());
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(retryable);
    });

    it("says a server answering a bare 404 is not a Ferry server", async () => {
      const server = await serve((_req, res) => {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("Cannot GET /api/work-pools");
      });
      const error = await rejection(new FerryClient({ apiUrl: server.url }).api.listWorkPools());
      expect(error.code).toBe("not_found");
      expect(error.message).toBe(
        `${server.url} is not a Ferry server: GET /api/work-pools answered 404 Not Found without Ferry's error JSON; check the URL (--api-url, FERRY_API_URL or the profile's api_url)`,
      );
    });

    it("says a server answering HTML, or anything but JSON, is not a Ferry server", async () => {
      const server = await serve((_req, res, i) => {
        res.writeHead(200, { "content-type": i === 0 ? "text/html; charset=utf-8" : "text/plain" });
        res.end(i === 0 ? "<!doctype html><title>Welcome to nginx</title>" : "hello");
      });
      const client = new FerryClient({ apiUrl: server.url });
      const html = await rejection(client.api.getWorkspace());
      expect(html.code).toBe("not_found");
      expect(html.message).toMatch(new RegExp(`^${server.url} is not a Ferry server: GET /api/workspace answered 200 with an HTML page, not JSON; check the URL`));
      expect((await rejection(client.api.getWorkspace())).message).toMatch(/is not a Ferry server: GET \/api\/workspace answered 200 with text\/plain that is not JSON/);
    });

    it("says how to start the server when nothing listens", async () => {
      const port = await closedPort();
      const apiUrl = `http://127.0.0.1:${port}`;
      const error = await rejection(new FerryClient({ apiUrl }).api.listWorkPools());
      expect(error.code).toBe("network");
      expect(error.retryable).toBe(true);
      expect(error.message).toBe(
        `could not reach the Ferry server at ${apiUrl}; start it with 'ferry server start' or set the right URL with --api-url or FERRY_API_URL`,
      );
      expect(error.cause).toBeInstanceOf(Error);
    });

    it("says the server did not answer in time", async () => {
      const server = await serve(() => {
        /* never answers */
      });
      const error = await rejection(new FerryClient({ apiUrl: server.url, timeoutMs: 100 }).api.getWorkspace());
      expect(error.code).toBe("network");
      expect(error.message).toBe(`the Ferry server at ${server.url} did not answer in time; check it is healthy (GET /readyz)`);
    });
  });

  describe("resolveDeployment", () => {
    it("gets a deployment by id", async () => {
      const server = await serve((_req, res) => json(res, 200, deployment()));
      const found = await new FerryClient({ apiUrl: server.url }).resolveDeployment(DEPLOYMENT_ID);
      expect(server.seen.map((s) => s.url)).toEqual([`/api/deployments/${DEPLOYMENT_ID}`]);
      expect(found).toEqual(deployment());
    });

    it("treats an upper-case id as an id", async () => {
      const server = await serve((_req, res) => json(res, 200, deployment()));
      await new FerryClient({ apiUrl: server.url }).resolveDeployment(DEPLOYMENT_ID.toUpperCase());
      expect(server.seen[0]!.url).toBe(`/api/deployments/${DEPLOYMENT_ID.toUpperCase()}`);
    });

    it("finds a deployment by FLOW/NAME", async () => {
      const server = await serve((_req, res) => json(res, 200, { items: [deployment()] }));
      const found = await new FerryClient({ apiUrl: server.url }).resolveDeployment("etl/nightly");
      expect(server.seen.map((s) => s.url)).toEqual(["/api/deployments?flow_name=etl&name=nightly"]);
      expect(found.id).toBe(DEPLOYMENT_ID);
    });

    it("splits on the first slash", async () => {
      const server = await serve((_req, res) => json(res, 200, { items: [deployment({ name: "a/b" })] }));
      await new FerryClient({ apiUrl: server.url }).resolveDeployment("etl/a/b");
      expect(server.seen[0]!.url).toBe("/api/deployments?flow_name=etl&name=a%2Fb");
    });

    it("says how to list deployments when none matches", async () => {
      const server = await serve((_req, res) => json(res, 200, { items: [] }));
      const error = await rejection(new FerryClient({ apiUrl: server.url }).resolveDeployment("etl/weekly"));
      expect(error.code).toBe("not_found");
      expect(error.message).toBe("deployment 'etl/weekly' was not found; list deployments with 'ferry deployment ls'");
    });

    it.each(["nightly", "/nightly", "etl/", ""])("refuses %j without calling the server", async (ref) => {
      const server = await serve((_req, res) => json(res, 200, { items: [] }));
      const error = await rejection(new FerryClient({ apiUrl: server.url }).resolveDeployment(ref));
      expect(error.code).toBe("validation_failed");
      expect(error.message).toBe(`deployment '${ref}' must be given as FLOW_NAME/DEPLOYMENT_NAME or as an id`);
      expect(server.seen).toEqual([]);
    });
  });

  describe("resolveFlowRun", () => {
    const run = (id: string, overrides: Record<string, unknown> = {}) => ({
      id, name: "nightly-abc123", deployment_name: "nightly", flow_name: "etl", state: { type: "COMPLETED", name: "Completed" }, ...overrides,
    });

    it("gets a run by its whole id", async () => {
      const server = await serve((_req, res) => json(res, 200, run(RUN_ID)));
      expect((await new FerryClient({ apiUrl: server.url }).resolveFlowRun(RUN_ID)).id).toBe(RUN_ID);
      expect(server.seen.map((s) => s.url)).toEqual([`/api/flow-runs/${RUN_ID}`]);
    });

    it("finds the one run whose id starts with a prefix, asked of the server", async () => {
      const server = await serve((_req, res) => json(res, 200, { items: [run(RUN_ID)], next_cursor: null }));
      expect((await new FerryClient({ apiUrl: server.url }).resolveFlowRun("0195A1B2-C3")).id).toBe(RUN_ID);
      expect(server.seen.map((s) => s.url)).toEqual(["/api/flow-runs?id_prefix=0195a1b2-c3&limit=6"]);
    });

    it("lists the candidates of an ambiguous prefix", async () => {
      const other = "0195a1b2-ffff-7e5f-8a9b-0c1d2e3f4a5b";
      const server = await serve((_req, res) => json(res, 200, { items: [run(RUN_ID), run(other, { name: "nightly-def456" })], next_cursor: null }));
      const error = await rejection(new FerryClient({ apiUrl: server.url }).resolveFlowRun("0195a1b2"));
      expect(error.code).toBe("validation_failed");
      expect(error.message).toBe(
        `flow run '0195a1b2' is ambiguous: it matches 2 runs: ${RUN_ID} (etl/nightly/nightly-abc123, Completed), ${other} (etl/nightly/nightly-def456, Completed); give more characters of the id, or the whole id`,
      );
      expect(error.details).toEqual({ candidates: [RUN_ID, other] });
    });

    it("says a prefix matching nothing was not found, and refuses one under 4 characters without asking", async () => {
      const server = await serve((_req, res) => json(res, 200, { items: [], next_cursor: null }));
      const client = new FerryClient({ apiUrl: server.url });
      const missing = await rejection(client.resolveFlowRun("abcd"));
      expect(missing.code).toBe("not_found");
      expect(missing.message).toBe("flow run 'abcd' was not found; list runs with 'ferry flow-run ls'");
      const short = await rejection(client.resolveFlowRun("ab-c"));
      expect(short.code).toBe("validation_failed");
      expect(short.message).toMatch(/too short; give at least 4 characters/);
      expect(server.seen).toHaveLength(1);
    });

    it("finds a run by DEPLOYMENT/RUN and FLOW/DEPLOYMENT/RUN", async () => {
      const server = await serve((_req, res) =>
        json(res, 200, { items: [run(RUN_ID), run("0195a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b", { flow_name: "other" }), run("0195a1b2-1111-7e5f-8a9b-0c1d2e3f4a5b", { deployment_name: "weekly" })], next_cursor: null }),
      );
      const client = new FerryClient({ apiUrl: server.url });
      expect((await client.resolveFlowRun("etl/nightly/nightly-abc123")).id).toBe(RUN_ID);
      expect(server.seen[0]!.url).toBe("/api/flow-runs?name=nightly-abc123&limit=50");
      // Two flows have a deployment named nightly with such a run: the short form is ambiguous.
      expect((await rejection(client.resolveFlowRun("nightly/nightly-abc123"))).message).toMatch(/is ambiguous: it matches 2 runs/);
      expect((await client.resolveFlowRun("weekly/nightly-abc123")).deployment_name).toBe("weekly");
    });

    it.each(["nightly", "a//b", "a/b/c/d", "zz-not-hex"])("refuses %j without calling the server", async (ref) => {
      const server = await serve((_req, res) => json(res, 200, { items: [] }));
      const error = await rejection(new FerryClient({ apiUrl: server.url }).resolveFlowRun(ref));
      expect(error.message).toBe(
        `flow run '${ref}' must be an id, a unique prefix of one (at least 4 characters), or DEPLOYMENT/RUN_NAME (FLOW/DEPLOYMENT/RUN_NAME when deployment names repeat)`,
      );
      expect(server.seen).toEqual([]);
    });
  });

  describe("followRun", () => {
    it("yields state and log events in order and stops at the end event", async () => {
      const events = [stateEvent("1", "PENDING"), logEvent("2", "hello"), stateEvent("3", "RUNNING"), logEvent("4", "bye"), stateEvent("5", "COMPLETED")];
      const server = await serve((_req, res) => {
        startStream(res);
        // Split across writes, mid-event, with a comment and an unknown event type in between.
        const wire = `: keep-alive\n\n${sse(events[0]!)}${sse(events[1]!)}event: ping\ndata: {}\n\n${sse(events[2]!)}${sse(events[3]!)}${sse(events[4]!)}${END}`;
        const cut = Math.floor(wire.length / 3);
        res.write(wire.slice(0, cut));
        setTimeout(() => res.write(wire.slice(cut)), 20);
        // The connection stays open: the end event alone must stop the client.
      });
      const client = new FerryClient({ apiUrl: server.url, apiKey: "fk_key" });
      expect(await collect(client.followRun(RUN_ID))).toEqual(events);
      expect(server.seen).toHaveLength(1);
      const seen = server.seen[0]!;
      expect(seen.method).toBe("GET");
      expect(seen.url).toBe(`/api/flow-runs/${RUN_ID}/events`);
      expect(seen.headers.accept).toBe("text/event-stream");
      expect(seen.headers.authorization).toBe("Bearer fk_key");
      expect(seen.headers["last-event-id"]).toBeUndefined();
    });

    it("resumes from a given event id", async () => {
      const server = await serve((_req, res) => {
        startStream(res);
        res.end(END);
      });
      expect(await collect(new FerryClient({ apiUrl: server.url }).followRun(RUN_ID, { lastEventId: "41" }))).toEqual([]);
      expect(server.seen[0]!.headers["last-event-id"]).toBe("41");
    });

    it("reconnects after the server closes the stream, from the last event received", async () => {
      const server = await serve((_req, res, i) => {
        startStream(res);
        if (i === 0) res.end(sse(stateEvent("7", "RUNNING")) + sse(logEvent("8", "working")));
        else res.end(sse(logEvent("9", "done")) + sse(stateEvent("10", "COMPLETED")) + END);
      });
      const events = await collect(new FerryClient({ apiUrl: server.url, apiKey: "fk_key" }).followRun(RUN_ID));
      expect(events.map((e) => e.id)).toEqual(["7", "8", "9", "10"]);
      expect(server.seen.map((s) => s.headers["last-event-id"])).toEqual([undefined, "8"]);
      expect(server.seen[1]!.headers.authorization).toBe("Bearer fk_key");
    });

    it("reconnects after the connection drops mid-event, without repeating or losing events", async () => {
      const server = await serve((_req, res, i) => {
        startStream(res);
        if (i === 0) {
          res.write(sse(stateEvent("1", "RUNNING")) + sse(logEvent("2", "a")));
          // Half an event, then the connection is cut.
          res.write(sse(logEvent("3", "b")).slice(0, 30), () => setTimeout(() => res.socket?.destroy(), 20));
        } else {
          res.end(sse(logEvent("3", "b")) + sse(stateEvent("4", "FAILED")) + END);
        }
      });
      const events = await collect(new FerryClient({ apiUrl: server.url }).followRun(RUN_ID));
      expect(events.map((e) => e.id)).toEqual(["1", "2", "3", "4"]);
      expect(server.seen.map((s) => s.headers["last-event-id"])).toEqual([undefined, "2"]);
    });

    it("fails with the server's error when the run does not exist", async () => {
      const server = await serve((_req, res) => json(res, 404, { error: { code: "not_found", message: `flow run '${RUN_ID}' was not found` } }));
      const error = await rejection(collect(new FerryClient({ apiUrl: server.url }).followRun(RUN_ID)));
      expect(error.code).toBe("not_found");
      expect(error.message).toBe(`flow run '${RUN_ID}' was not found`);
      expect(server.seen).toHaveLength(1);
    });

    it("stops when its signal aborts", async () => {
      const server = await serve((_req, res) => {
        startStream(res);
        res.write(sse(stateEvent("1", "RUNNING")));
      });
      const controller = new AbortController();
      const seen: string[] = [];
      for await (const event of new FerryClient({ apiUrl: server.url }).followRun(RUN_ID, { signal: controller.signal })) {
        seen.push(event.id);
        controller.abort();
      }
      expect(seen).toEqual(["1"]);
    });
  });

  describe("waitForRun", () => {
    it("follows until a final state, then returns the run", async () => {
      const run = { id: RUN_ID, state: { type: "COMPLETED" } };
      const server = await serve((req, res) => {
        if (req.url.endsWith("/events")) {
          startStream(res);
          // No end event: the final state alone must be enough.
          res.write(sse(stateEvent("1", "RUNNING")) + sse(logEvent("2", "hi")) + sse(stateEvent("3", "COMPLETED")));
        } else {
          json(res, 200, run);
        }
      });
      const received: string[] = [];
      const result = await new FerryClient({ apiUrl: server.url }).waitForRun(RUN_ID, { onEvent: (e) => received.push(`${e.kind}:${e.id}`) });
      expect(received).toEqual(["state:1", "log:2", "state:3"]);
      expect(result).toEqual(run);
      expect(server.seen.map((s) => s.url)).toEqual([`/api/flow-runs/${RUN_ID}/events`, `/api/flow-runs/${RUN_ID}`]);
    });
  });
});
