import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLOW_RUN_EVENTS_PATH, ROUTES, WORKSPACE_EVENTS_PATH, type RouteDef } from "@ferry/core";
import { expectErrorShape } from "./support/error-shape.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * Every route of the route table (and the event stream), called with generated requests: bodies,
 * path parameters and query strings shaped by the route's schemas and mutated away from them, random
 * methods, content types and credentials (a real API key, the operator token, a run token, garbage,
 * none), on a real server on PGlite. After each request: no 5xx, an error answer has the API's error
 * shape, and the server still answers its health check within a second.
 *
 * Seeded: the seed is printed, and FERRY_FUZZ_SEED=<seed> repeats a run. FERRY_FUZZ_RUNS sets the
 * requests per route (default 12, which keeps the file to seconds).
 */
const SEED = process.env.FERRY_FUZZ_SEED ? Number(process.env.FERRY_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = process.env.FERRY_FUZZ_RUNS ? Number(process.env.FERRY_FUZZ_RUNS) : 12;

type Schema = Record<string, unknown> & { type?: string | string[]; properties?: Record<string, Schema>; required?: string[] };
type Auth = "key" | "admin" | "run" | "garbage" | "none";

interface Known {
  ids: string[];
  names: string[];
  strings: string[];
}

interface FuzzRequest {
  method: string;
  params: Record<string, string>;
  query: [string, string][];
  body: { kind: "none" } | { kind: "json"; value: unknown } | { kind: "raw"; text: string };
  contentType: string | null;
  auth: Auth;
  lastEventId: string | null;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

/** Strings that stress the path, the parsers and the store: empty, huge, control characters, SQL, encodings. */
const nasty = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", " ", "..", ".", "%", "%00", "\u0000", "'; DROP TABLE flow_runs; --", "null", "-1", "1e309", "😀", "\uD800", "a/b", "__proto__", "constructor"),
  fc.nat({ max: 5000 }).map((n) => "x".repeat(n)),
);

/** Values shaped by a JSON Schema (TypeBox's), drifting from it now and then. */
function fromSchema(schema: Schema | undefined, known: Known, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return fc.jsonValue({ maxDepth: 2 });
  const drift = fc.jsonValue({ maxDepth: 2 });
  const shaped = shapedBy(schema, known, depth);
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: drift });
}

function shapedBy(schema: Schema, known: Known, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as Schema[]).map((s) => fromSchema(s, known, depth + 1)));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => shapedBy({ ...schema, type }, known, depth)));
  switch (schema.type) {
    case "string": {
      const options: fc.Arbitrary<string>[] = [fc.constantFrom(...known.strings), fc.constantFrom(...known.names), nasty];
      if (schema.format === "date-time") options.push(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
      if (schema.format === "uuid") options.push(fc.uuid(), fc.constantFrom(...known.ids));
      if (typeof schema.maxLength === "number") options.push(fc.constant("m".repeat(schema.maxLength + 1)));
      return fc.oneof(...options);
    }
    case "integer":
      return fc.oneof(
        fc.integer({ min: (schema.minimum as number | undefined) ?? -5, max: Math.min((schema.maximum as number | undefined) ?? 2000, 2000) }),
        fc.constantFrom(-1, 0, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 1.5, 1e308),
      );
    case "number":
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e308, 5e-324));
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const items = fromSchema(schema.items as Schema | undefined, known, depth + 1);
      return fc.array(items, { maxLength: Math.min((schema.maxItems as number | undefined) ?? 4, 4) });
    }
    case "object": {
      if (schema.properties && Object.keys(schema.properties).length) {
        const props = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, fromSchema(s, known, depth + 1)]));
        const record = fc.record(props, { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
        // Now and then a field the schema does not know.
        return fc.tuple(record, fc.option(fc.tuple(nasty, fc.jsonValue({ maxDepth: 1 })), { freq: 6 })).map(([r, extra]) =>
          extra ? { ...(r as object), [extra[0]]: extra[1] } : r,
        );
      }
      return fc.dictionary(fc.oneof(fc.constantFrom(...known.strings), nasty), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 4 });
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** Percent-encodes a path segment; a lone surrogate (which encodeURIComponent refuses) becomes bytes that are not UTF-8. */
function encodeLoosely(text: string): string {
  return text.replace(/[\s\S]/gu, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      return "%ED%A0%80";
    }
  });
}

/** Only what a header value may carry (fetch refuses the rest). */
function printable(text: string): string {
  return [...text].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f).join("");
}

function requestFor(route: RouteDef, known: Known): fc.Arbitrary<FuzzRequest> {
  const paramNames = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const param = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known.ids, ...known.names) }, { weight: 2, arbitrary: nasty }, { weight: 1, arbitrary: fc.uuid() });
  const params = fc.record(Object.fromEntries(paramNames.map((n) => [n, param])) as Record<string, fc.Arbitrary<string>>);
  const queryProps = ((route.query as Schema | undefined)?.properties ?? {}) as Record<string, Schema>;
  const queryEntry = fc.oneof(
    ...Object.entries(queryProps).map(([k, s]) => fromSchema(s, known).map((v): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v) ?? ""])),
    fc.tuple(nasty, nasty),
  );
  const body = route.body
    ? fc.oneof(
        { weight: 6, arbitrary: fromSchema(route.body as Schema, known).map((value) => ({ kind: "json" as const, value })) },
        { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: "json" as const, value })) },
        { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
        {
          weight: 1,
          arbitrary: fc.oneof(nasty, fc.nat({ max: 3000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`)).map((text) => ({ kind: "raw" as const, text })),
        },
      )
    : fc.oneof({ weight: 4, arbitrary: fc.constant({ kind: "none" as const }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: "json" as const, value })) });
  const admin = route.path.startsWith("/api/admin/");
  return fc.record({
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    params,
    query: fc.array(queryEntry, { maxLength: 4 }),
    body,
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant("application/json") },
      { weight: 1, arbitrary: fc.constantFrom(null, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "multipart/form-data", "application/jsonx") },
    ),
    auth: fc.oneof(
      { weight: 6, arbitrary: fc.constant<Auth>(admin ? "admin" : "key") },
      { weight: 1, arbitrary: fc.constantFrom<Auth>("key", "admin", "run", "garbage", "none") },
    ),
    lastEventId: fc.option(fc.oneof(fc.constantFrom("0", "1", "9223372036854775807", "9223372036854775808"), nasty), { freq: 2 }),
  });
}

describe("fuzzing every route (PGlite)", () => {
  let t: TestServer;
  let tokens: Record<Auth, string | null>;
  let known: Known;
  const calls: string[] = [];

  beforeAll(async () => {
    console.log(`fuzz seed ${SEED}, ${RUNS} requests a route (repeat with FERRY_FUZZ_SEED=${SEED})`);
    t = await startTestServer("pglite");
    await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
    await t.client.api.createWorkPool({ body: { name: "held", type: "fake:push", paused: true } });
    await t.client.api.createCredentials({ body: { name: "keys", type: "keypair", data: { key_id: "AKIDEXAMPLE", secret_key: "s3cr3t" } } });
    const deployment = (
      await t.client.api.applyDeployment({
        body: {
          flow_name: "etl",
          name: "nightly",
          work_pool: "held",
          source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
          entrypoint: "flows/etl.py:etl",
          parameter_schema: { type: "object", properties: { day: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" } } },
        },
      })
    ).deployment;
    const pushed = (
      await t.client.api.applyDeployment({
        body: { flow_name: "etl", name: "pushed", work_pool: "push", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
      })
    ).deployment;
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: pushed.id }, body: {} });
    await t.client.waitForRun(flow_run.id);
    const held = (await t.client.api.createFlowRun({ params: { id: deployment.id }, body: {} })).flow_run;
    const workspace = await t.client.api.getWorkspace();
    tokens = {
      key: t.server.bootstrap!.apiKey,
      admin: t.server.adminToken,
      // A live run's token (a finished run's no longer works; infrastructure only ever gets a bootstrap token).
      run: await t.server.issueRunToken(held.id),
      garbage: "fy_notarealkeynotarealkeynotarealkey",
      none: null,
    };
    known = {
      ids: [deployment.id, pushed.id, flow_run.id, held.id, workspace.id],
      names: ["push", "held", "keys", "etl", "nightly"],
      strings: ["fake:push", "keyed:push", "ferry:managed", "keypair", "git", "RUNNING", "COMPLETED,CRASHED", "https://github.com/acme/flows.git", "flows/etl.py:etl", "2026-11-01", "info"],
    };
  });
  afterAll(async () => {
    await t?.stop();
  });

  const send = async (route: RouteDef, r: FuzzRequest): Promise<void> => {
    let path = route.path.replace(/\{(\w+)\}/g, (_m, k: string) => encodeLoosely(r.params[k] || "x"));
    if (r.query.length) path += `?${new URLSearchParams(r.query).toString()}`;
    const headers: Record<string, string> = {};
    const token = tokens[r.auth];
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (r.method !== "GET" && r.method !== "HEAD" && r.body.kind !== "none") {
      body = r.body.kind === "raw" ? r.body.text : JSON.stringify(r.body.value);
      if (r.contentType) headers["content-type"] = r.contentType;
    }
    if (r.lastEventId !== null && route.path === FLOW_RUN_EVENTS_PATH) headers["last-event-id"] = printable(r.lastEventId);
    calls.push(`${r.method} ${path.slice(0, 120)}`);
    const res = await fetch(`${t.server.url}${path}`, { method: r.method, headers, body, signal: AbortSignal.timeout(20_000) });
    const where = `${r.method} ${path.slice(0, 200)} (seed ${SEED})`;
    expect(res.status, `${where} answered ${res.status}`).toBeLessThan(500);
    if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      await res.body?.cancel();
    } else {
      const text = await res.text();
      if (res.status >= 400 && r.method !== "HEAD") {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        expectErrorShape(res.status, json);
      }
    }
    const health = await fetch(`${t.server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
    expect(health.status, `the health check after ${where}`).toBe(200);
    await health.text();
  };

  const routes: [string, RouteDef][] = [
    ...(Object.entries(ROUTES) as [string, RouteDef][]),
    [
      "streamFlowRunEvents",
      { method: "GET", path: FLOW_RUN_EVENTS_PATH, summary: "", tag: "flow-runs", response: null, status: 200 },
    ],
    [
      "streamWorkspaceEvents",
      { method: "GET", path: WORKSPACE_EVENTS_PATH, summary: "", tag: "flow-runs", response: null, status: 200 },
    ],
  ];

  it("covers every operation of the OpenAPI document", async () => {
    const doc = (await (await fetch(`${t.server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const operations = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId)).filter(Boolean);
    expect(new Set(operations)).toEqual(new Set(routes.map(([name]) => name)));
  });

  it.each(routes.map(([name, route], i) => [name, route, i] as const))("%s: no 5xx, the error shape, a live server", async (_name, route, i) => {
    await fc.assert(
      fc.asyncProperty(requestFor(route, known), (r) => send(route, r)),
      { seed: SEED + i, numRuns: RUNS, endOnFailure: true },
    );
  });

  it("survives requests across routes in any order", async () => {
    const any = fc.constantFrom(...routes.map(([, route]) => route)).chain((route) => requestFor(route, known).map((r) => [route, r] as const));
    await fc.assert(
      fc.asyncProperty(any, ([route, r]) => send(route, r)),
      { seed: SEED + routes.length, numRuns: RUNS * 5, endOnFailure: true },
    );
    expect(calls.length).toBeGreaterThan(routes.length * RUNS);
  });
});
