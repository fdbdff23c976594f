import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment } from "@ferry/core";
import { expectErrorShape, rawRequest } from "./support/error-shape.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

describe("inputs that must get a clear 4xx (PGlite)", () => {
  let t: TestServer;
  let key: string;
  let deployment: Deployment;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, body: json, text };
  };

  beforeAll(async () => {
    t = await startTestServer("pglite");
    key = t.server.bootstrap!.apiKey;
    await t.client.api.createWorkPool({ body: { name: "held", type: "fake:push", paused: true } });
    deployment = (
      await t.client.api.applyDeployment({
        body: {
          flow_name: "etl",
          name: "inputs",
          work_pool: "held",
          source: { git_url: "https://github.com/acme/flows.git" },
          entrypoint: "flows/etl.py:etl",
          parameter_schema: { type: "object", properties: { code: { type: "string", pattern: "^(a+)+$" } } },
        },
      })
    ).deployment;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("matches a user's pattern in linear time and refuses one RE2 cannot run", async () => {
    // With JavaScript's RegExp this request holds the server far longer than the test's timeout.
    const slow = await call("POST", `/api/deployments/${deployment.id}/runs`, { parameters: { code: `${"a".repeat(50)}!` } });
    expect(slow.status).toBe(400);
    expect(expectErrorShape(slow.status, slow.body).message).toMatch(/\/code must match pattern/);

    const lookahead = await call("POST", "/api/work-pools", {
      name: "look",
      type: "fake:push",
      base_job_template: {
        variables: { type: "object", properties: { tag: { type: "string", pattern: "^(?=v)v\\d+$" } } },
        job_configuration: { tag: "{{ tag }}" },
      },
    });
    expect(lookahead.status).toBe(400);
    expect(expectErrorShape(lookahead.status, lookahead.body).message).toMatch(/pattern '\^\(\?=v\)v\\d\+\$' is not supported: .*RE2/);
  });

  it("bounds the size and depth of a user's schema", async () => {
    let nested: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 20; i++) nested = { type: "object", properties: { x: nested } };
    const res = await call("PUT", "/api/deployments", {
      flow_name: "etl",
      name: "deep-schema",
      work_pool: "held",
      source: { git_url: "https://github.com/acme/flows.git" },
      entrypoint: "flows/etl.py:etl",
      parameter_schema: nested,
    });
    expect(res.status).toBe(400);
    expect(expectErrorShape(res.status, res.body).message).toMatch(/parameter_schema is nested more than 32 levels deep \(the limit\)/);
  });

  it("refuses JSON nested deeper than the limit, naming it", async () => {
    const body = `{"parameters":{"x":${"[".repeat(2000)}${"]".repeat(2000)}}}`;
    const res = await call("POST", `/api/deployments/${deployment.id}/runs`, body);
    expect(res.status).toBe(400);
    expect(expectErrorShape(res.status, res.body).message).toMatch(/^the request body is nested more than 64 levels deep \(the limit\)/);
  });

  it("refuses a concurrency limit past the 32-bit column, naming the maximum", async () => {
    const res = await call("POST", "/api/work-pools", { name: "big", type: "fake:push", concurrency_limit: 2 ** 31 });
    expect(res.status).toBe(400);
    expect(expectErrorShape(res.status, res.body).message).toMatch(/\/concurrency_limit must be <= 2147483647/);
    const ok = await call("POST", "/api/work-pools", { name: "big", type: "fake:push", concurrency_limit: 2 ** 31 - 1 });
    expect(ok.status).toBe(201);
  });

  it("refuses a body past its limit (413) and parameters past theirs, each naming the limit", async () => {
    const big = await call("POST", `/api/deployments/${deployment.id}/runs`, { parameters: { blob: "x".repeat(2 * 1024 * 1024) } });
    expect(big.status).toBe(413);
    expect(expectErrorShape(big.status, big.body).message).toMatch(/larger than 1 MiB, the limit of this route/);

    const params = await call("POST", `/api/deployments/${deployment.id}/runs`, { parameters: { blob: "x".repeat(600 * 1024) } });
    expect(params.status).toBe(413);
    expect(expectErrorShape(params.status, params.body).message).toMatch(/^parameters take 600\.\d KiB as JSON; the limit is 512 KiB/);

    // A batch of log lines may be larger than other bodies.
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    const logs = Array.from({ length: 200 }, (_, i) => ({ message: `${i} ${"y".repeat(9000)}` }));
    const written = await call("POST", `/api/flow-runs/${flow_run.id}/logs`, { logs });
    expect(written.status).toBe(201);
  });

  it("cuts a page of runs short by its size, with a cursor to the rest", async () => {
    const d = (
      await t.client.api.applyDeployment({
        body: { flow_name: "etl", name: "bulky", work_pool: "held", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
      })
    ).deployment;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call("POST", `/api/deployments/${d.id}/runs`, { parameters: { blob: `${i}`.padEnd(400 * 1024, "z") } });
      expect(res.status).toBe(201);
      ids.push((res.body as { flow_run: { id: string } }).flow_run.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call("GET", `/api/flow-runs?deployment_id=${d.id}&limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.text.length).toBeLessThanOrEqual(4 * 1024 * 1024 + 450 * 1024);
      const page = res.body as { items: { id: string }[]; next_cursor: string | null };
      seen.push(...page.items.map((r) => r.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual([...ids].reverse());
  });

  it("answers every error of the HTTP layer in the API's shape", async () => {
    const unknown = await call("GET", "/api/nothing-here");
    expect(unknown.status).toBe(404);
    expectErrorShape(unknown.status, unknown.body);

    const wrongMethod = await call("PUT", "/api/workspace");
    expect(wrongMethod.status).toBe(405);
    expect(expectErrorShape(wrongMethod.status, wrongMethod.body).message).toMatch(/takes GET/);

    const badJson = await call("POST", "/api/work-pools", "{not json");
    expect(badJson.status).toBe(400);
    expect(expectErrorShape(badJson.status, badJson.body).message).toMatch(/^the request body is not valid JSON/);

    const emptyJson = await call("POST", "/api/work-pools", "");
    expect(emptyJson.status).toBe(400);
    expectErrorShape(emptyJson.status, emptyJson.body);

    const media = await call("POST", "/api/work-pools", "name=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(media.status).toBe(415);
    expect(expectErrorShape(media.status, media.body).message).toMatch(/Content-Type: application\/json/);

    const longParam = await call("GET", `/api/work-pools/${"p".repeat(500)}`);
    expect(longParam.status).toBe(414);
    expectErrorShape(longParam.status, longParam.body);

    const badUrl = await call("GET", "/api/work-pools/%E0%A4%A");
    expect(badUrl.status).toBe(400);
    expectErrorShape(badUrl.status, badUrl.body);

    const headers = await rawRequest(t.server.url, `GET /api/workspace HTTP/1.1\r\nHost: x\r\nX-Big: ${"h".repeat(20_000)}\r\n\r\n`);
    expect(headers.status).toBe(431);
    expectErrorShape(headers.status, headers.body);

    const longUrl = await rawRequest(t.server.url, `GET /api/work-pools?${"q".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longUrl.status).toBe(431);
    expectErrorShape(longUrl.status, longUrl.body);

    const malformed = await rawRequest(t.server.url, "GET /api/workspace HTTP/1.1\r\nHost x\r\n\r\n");
    expect(malformed.status).toBe(400);
    expectErrorShape(malformed.status, malformed.body);

    const health = await fetch(`${t.server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it("refuses an invalid Last-Event-ID with a 400 instead of opening a stream", async () => {
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    for (const id of ["abc", "-1", "99999999999999999999999", "1.5"]) {
      const res = await call("GET", `/api/flow-runs/${flow_run.id}/events`, undefined, { "last-event-id": id });
      expect(res.status, `Last-Event-ID ${id}`).toBe(400);
      expect(expectErrorShape(res.status, res.body).message).toMatch(/Last-Event-ID '.*' is not an event id/);
    }
  });

  it("takes JSON bodies as sent: no type coercion (query strings are still read as numbers)", async () => {
    const res = await call("POST", "/api/work-pools", { name: "coerced", type: "fake:push", concurrency_limit: "5" });
    expect(res.status).toBe(400);
    expect(expectErrorShape(res.status, res.body).message).toMatch(/\/concurrency_limit must be integer/);
    const tags = await call("POST", `/api/deployments/${deployment.id}/runs`, { tags: "one" });
    expect(tags.status).toBe(400);
    expect(expectErrorShape(tags.status, tags.body).message).toMatch(/\/tags must be array/);
    const paused = await call("PATCH", "/api/work-pools/held", { paused: "false" });
    expect(paused.status).toBe(400);
    const page = await call("GET", "/api/flow-runs?limit=2");
    expect(page.status).toBe(200);
    expect((page.body as { items: unknown[] }).items.length).toBeLessThanOrEqual(2);
  });

  it("cuts huge input echoed back in an error message", async () => {
    const type = "t".repeat(100_000);
    const res = await call("POST", "/api/work-pools", { name: "echo", type });
    expect(res.status).toBe(400);
    expect(expectErrorShape(res.status, res.body).message.length).toBeLessThan(1000);

    const entrypoint = await call("PUT", "/api/deployments", {
      flow_name: "etl",
      name: "echo",
      work_pool: "held",
      source: { git_url: "https://github.com/acme/flows.git" },
      entrypoint: `${"e".repeat(900)}.rb`,
    });
    expect(entrypoint.status).toBe(400);
    const { message } = expectErrorShape(entrypoint.status, entrypoint.body);
    expect(message.length).toBeLessThan(700);
    expect(message).toMatch(/e…/);

    const gitUrl = await call("PUT", "/api/deployments", {
      flow_name: "etl",
      name: "echo",
      work_pool: "held",
      source: { git_url: `not a url ${"g".repeat(1500)}` },
      entrypoint: "flows/etl.py:etl",
    });
    expect(gitUrl.status).toBe(400);
    expect(expectErrorShape(gitUrl.status, gitUrl.body).message).toMatch(/^source\.git_url 'not a url g+…' is not a git URL/);

    const field = "f".repeat(50_000);
    const extra = await call("POST", "/api/work-pools", { name: "echo", type: "fake:push", [field]: 1 });
    expect(extra.status).toBe(400);
    expect(expectErrorShape(extra.status, extra.body).message.length).toBeLessThan(1000);
    expect(extra.text.length).toBeLessThan(3000);

    const missing = await call("PUT", "/api/deployments", {
      flow_name: "etl",
      name: "echo",
      work_pool: "w".repeat(60_000),
      source: { git_url: "https://github.com/acme/flows.git" },
      entrypoint: "flows/etl.py:etl",
    });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(expectErrorShape(missing.status, missing.body).message.length).toBeLessThan(2100);
  });
});
